package privilege

import (
	"os"
	"testing"

	"github.com/lsst-dm/lsstgen/internal/testcluster"
)

// cluster is the real control plane the package's cluster tests share.
var cluster testcluster.Shared

func TestMain(m *testing.M) { os.Exit(cluster.Main(m)) }
