package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ruleFindings are rule's findings as "object: message".
func ruleFindings(fs []Finding, rule string) []string {
	var out []string
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f.Object+": "+f.Message)
		}
	}
	return out
}

// TestNamespaceAdmins: admin access goes through each namespace's namespace-admin binding
// of lsst-namespace-admin only; the built-in admin role counts for nothing and is flagged
// wherever it is bound.
func TestNamespaceAdmins(t *testing.T) {
	const rb = "RoleBinding/portal/namespace-admin"
	tests := []struct {
		name  string
		patch []string
		want  []string
	}{{
		name:  "built-in admin under the binding's own name",
		patch: []string{rb + ` replace /roleRef/name "admin"`},
		want:  []string{rb + ": binds ClusterRole admin; namespace portal's admin binding must bind ClusterRole lsst-namespace-admin (the built-in admin may edit the namespace's RBAC)"},
	}, {
		name:  "a Role instead",
		patch: []string{rb + ` replace /roleRef/kind "Role"`},
		want: []string{
			rb + `: roleRef Role "lsst-namespace-admin" does not exist in namespace portal; add it or refer to an existing Role`,
			rb + ": binds Role lsst-namespace-admin; namespace portal's admin binding must bind ClusterRole lsst-namespace-admin (the built-in admin may edit the namespace's RBAC)",
		},
	}, {
		name:  "a user beside the group",
		patch: []string{rb + ` add /subjects/- {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jdoe"}`},
		want:  []string{rb + `: binds User "jdoe"; namespace portal's admin binding holds groups only`},
	}, {
		name:  "no subjects",
		patch: []string{rb + ` remove /subjects`},
		want:  []string{rb + ": namespace portal's admin binding names no group; bind its admin groups"},
	}, {
		name:  "another group",
		patch: []string{rb + ` add /subjects/- {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "lsst-everyone"}`},
		want:  []string{rb + ": namespace portal's admin binding grants [lsst-everyone lsst-suit] but the instance names [lsst-suit]; bind exactly the named groups"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := realInstance(t, "pdac")
			for _, p := range tc.patch {
				if err := applyPatchLine(&in, p); err != nil {
					t.Fatal(err)
				}
			}
			fs := Validate([]Instance{in})
			got := append(ruleFindings(fs, RefRoleBinding), ruleFindings(fs, NotesNamespaceAdmin)...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}
