package testcluster

import "k8s.io/client-go/rest"

// As returns a config that acts as user, a member of groups, by impersonation through the
// admin. The apiserver adds system:authenticated, as it does for every real user.
func (c *Cluster) As(user string, groups ...string) *rest.Config {
	cfg := c.Admin()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// AsServiceAccount returns a config that acts as the service account namespace/name, with
// the groups the apiserver gives service accounts.
func (c *Cluster) AsServiceAccount(namespace, name string) *rest.Config {
	return c.As("system:serviceaccount:"+namespace+":"+name,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace)
}
