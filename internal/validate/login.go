package validate

import (
	"encoding/json"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hubConfigDir is where the hub mounts its ConfigMap (jupyterhub_config.py and the
// hub.json it reads).
const hubConfigDir = "/usr/local/etc/jupyterhub"

// hubJSON is the part of the hub's hub.json that says who logs in and who they are.
type hubJSON struct {
	CILogon struct {
		AllowedIdps map[string]struct {
			UsernameDerivation struct {
				UsernameClaim string `json:"username_claim"`
				Action        string `json:"action"`
				Domain        string `json:"domain"`
			} `json:"username_derivation"`
			AllowAll bool `json:"allow_all"`
		} `json:"allowedIdps"`
	} `json:"cilogon"`
	Users struct {
		UIDSource string `json:"uidSource"`
	} `json:"users"`
}

// checkNotebookLogin: the hub lets in the users of the instance's identity providers only
// (with uidSource ldap, its directory's own only, or another's jdoe becomes the
// directory's jdoe), each with its domain stripped from their names, and takes their
// identity where the model says.
func checkNotebookLogin(c *checker) {
	m := c.in.Model.Instance
	if m.Aspects.Notebook == nil {
		return
	}
	o := c.idx.get("Deployment", "notebook", "hub")
	if o == nil {
		return
	}
	d, ok := o.typed.(*appsv1.Deployment)
	if !ok {
		return
	}
	const path = "instance.userMapping"
	cm := ""
	for _, ct := range d.Spec.Template.Spec.Containers {
		for _, vm := range ct.VolumeMounts {
			if vm.MountPath != hubConfigDir {
				continue
			}
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == vm.Name && v.ConfigMap != nil {
					cm = v.ConfigMap.Name
				}
			}
		}
	}
	cmObj := c.idx.get("ConfigMap", "notebook", cm)
	if cmObj == nil {
		return // LSST-REF-006 names a ConfigMap that does not exist
	}
	data, _, _ := unstructured.NestedString(cmObj.u.Object, "data", "hub.json")
	var hub hubJSON
	if data == "" || json.Unmarshal([]byte(data), &hub) != nil {
		c.report(NotesNotebookLogin, cmObj, path, "the hub's ConfigMap holds no hub.json (JSON) that says who may log in; render the notebook aspect with lsstgen")
		return
	}
	um := m.UserMapping
	want := map[string]string{} // entity ID → domain
	for id, p := range um.IdentityProviders {
		want[id] = p.Domain
	}
	if um.UIDSource == "ldap" && um.LDAP != nil {
		p := um.LDAP.IdentityProvider
		want = map[string]string{p.EntityID: p.Domain}
	}
	ids := make([]string, 0, len(hub.CILogon.AllowedIdps))
	for id := range hub.CILogon.AllowedIdps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		idp := hub.CILogon.AllowedIdps[id]
		domain, listed := want[id]
		switch {
		case !listed && um.UIDSource == "ldap":
			c.report(NotesNotebookLogin, cmObj, path, "the hub lets in the users of identity provider %s, and their bare names are looked up in LDAP as the directory's users; only the directory's own identity provider may log in", id)
		case !listed:
			c.report(NotesNotebookLogin, cmObj, path, "the hub lets in the users of identity provider %s, which instance.userMapping.identityProviders does not list", id)
		case idp.UsernameDerivation.Action != "strip_idp_domain" || idp.UsernameDerivation.Domain != domain:
			c.report(NotesNotebookLogin, cmObj, path, "the hub makes the names of %s's users with %s %q, not by stripping its domain %s", id, idp.UsernameDerivation.Action, idp.UsernameDerivation.Domain, domain)
		}
	}
	for id := range want {
		if _, ok := hub.CILogon.AllowedIdps[id]; !ok {
			c.report(NotesNotebookLogin, cmObj, path, "the hub does not let in the users of %s, which the instance lists", id)
		}
	}
	if hub.Users.UIDSource != um.UIDSource {
		c.report(NotesNotebookLogin, cmObj, path, "the hub takes user identities from %q, the instance from %q", hub.Users.UIDSource, um.UIDSource)
	}
}
