package validate

import (
	"testing"
)

// TestRealInstancesPass: the five instances of the repository have no error finding.
func TestRealInstancesPass(t *testing.T) {
	ins := realInstances(t)
	if len(ins) != 5 {
		t.Fatalf("rendered %d instances, want 5", len(ins))
	}
	for _, f := range Validate(ins) {
		t.Errorf("%s", f)
	}
}
