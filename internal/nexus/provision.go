package nexus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Options control a provisioning run.
type Options struct {
	// Wait bounds how long the run waits for Nexus to accept writes (it may be starting).
	Wait time.Duration
	// Poll is how often it asks meanwhile.
	Poll time.Duration
	// LookupEnv reads the pushers' passwords; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// DefaultOptions waits up to ten minutes for Nexus, asking every two seconds.
func DefaultOptions() Options {
	return Options{Wait: 10 * time.Minute, Poll: 2 * time.Second}
}

// Action is what a run did to one object of Nexus, or found it needed nothing.
type Action struct {
	// Verb is "created", "updated" or "unchanged".
	Verb string
	// Object names it: "repository docker-hosted", "realms", "user lsst-ci" …
	Object string
	// Why lists, for an update, what differed.
	Why []string
}

func (a Action) String() string {
	s := a.Verb + " " + a.Object
	if len(a.Why) > 0 {
		s += " (" + strings.Join(a.Why, ", ") + ")"
	}
	return s
}

// Report is what a run did, in order.
type Report struct {
	Actions []Action
}

// Changed counts the objects the run created or updated.
func (r *Report) Changed() int {
	n := 0
	for _, a := range r.Actions {
		if a.Verb != "unchanged" {
			n++
		}
	}
	return n
}

func (r *Report) add(verb, object string, why ...string) {
	r.Actions = append(r.Actions, Action{Verb: verb, Object: object, Why: why})
}

// AnonymousRole is the role the anonymous user gets: read access to Config.AnonymousRead.
const AnonymousRole = "lsst-anonymous-read"

// Provision makes Nexus at c what cfg says: it waits until Nexus accepts writes, then,
// for each blob store, repository, the realms, each role and user and the anonymous
// access, reads what Nexus holds, creates it when missing and corrects it when it differs.
// A second run with the same configuration changes nothing. It stops at the first error,
// which names the call that failed.
func Provision(ctx context.Context, c *Client, cfg *Config, opts Options) (*Report, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	passwords := map[string]string{}
	for _, p := range cfg.Pushers {
		pw, ok := lookup(p.PasswordEnv)
		if !ok || pw == "" {
			return nil, fmt.Errorf("pusher %s: the environment variable %s that holds its password is not set", p.User, p.PasswordEnv)
		}
		passwords[p.User] = pw
	}
	if err := waitWritable(ctx, c, opts); err != nil {
		return nil, err
	}
	r := &Report{}
	for _, b := range cfg.BlobStores {
		want := map[string]any{"name": b.Name, "path": b.Path}
		if err := ensure(ctx, c, r, "blob store "+b.Name, "/v1/blobstores/file/"+escape(b.Name), "/v1/blobstores/file", want); err != nil {
			return r, err
		}
	}
	for _, h := range cfg.Hosted {
		want := repository(h.Name, h.BlobStore)
		want["storage"].(map[string]any)["writePolicy"] = h.WritePolicy
		if err := ensureRepository(ctx, c, r, "hosted", h.Name, want); err != nil {
			return r, err
		}
	}
	for _, p := range cfg.Proxies {
		want := repository(p.Name, p.BlobStore)
		// A day's caching of content and metadata, and of misses: Nexus's defaults.
		want["proxy"] = map[string]any{"remoteUrl": p.RemoteURL, "contentMaxAge": 1440, "metadataMaxAge": 1440}
		want["negativeCache"] = map[string]any{"enabled": true, "timeToLive": 1440}
		want["httpClient"] = map[string]any{"blocked": false, "autoBlock": true}
		want["dockerProxy"] = map[string]any{"indexType": p.IndexType}
		if err := ensureRepository(ctx, c, r, "proxy", p.Name, want); err != nil {
			return r, err
		}
	}
	for _, g := range cfg.Groups {
		want := repository(g.Name, g.BlobStore)
		want["group"] = map[string]any{"memberNames": g.Members}
		if err := ensureRepository(ctx, c, r, "group", g.Name, want); err != nil {
			return r, err
		}
	}
	if err := ensureRealms(ctx, c, r, cfg.Realms); err != nil {
		return r, err
	}
	if len(cfg.AnonymousRead) > 0 {
		if err := ensureRole(ctx, c, r, AnonymousRole, "anonymous pull from "+strings.Join(cfg.AnonymousRead, ", "), privileges(cfg.AnonymousRead, "read", "browse")); err != nil {
			return r, err
		}
	}
	for _, p := range cfg.Pushers {
		role := p.User + "-push"
		description := p.User + " pushes to " + strings.Join(p.Repositories, ", ")
		if len(p.Reads) > 0 {
			description += " and reads " + strings.Join(p.Reads, ", ")
		}
		privs := slices.Concat(privileges(p.Repositories, "read", "browse", "add", "edit"), privileges(p.Reads, "read", "browse"))
		if err := ensureRole(ctx, c, r, role, description, privs); err != nil {
			return r, err
		}
		if err := ensurePusher(ctx, c, r, p.User, passwords[p.User], role); err != nil {
			return r, err
		}
	}
	if err := ensureAnonymous(ctx, c, r, len(cfg.AnonymousRead) > 0); err != nil {
		return r, err
	}
	return r, nil
}

// repository is the body every docker repository shares: online, its blob store with
// strict content types, no docker connector port (the ingress routes to its path), docker
// v1 off, and no forced basic authentication, so that docker clients may pull
// anonymously where the role allows (the DockerToken realm hands out the tokens).
func repository(name, blobStore string) map[string]any {
	return map[string]any{
		"name":    name,
		"online":  true,
		"storage": map[string]any{"blobStoreName": blobStore, "strictContentTypeValidation": true},
		"docker":  map[string]any{"v1Enabled": false, "forceBasicAuth": false},
	}
}

// privileges are the repository-view privileges of actions on docker repositories.
func privileges(repos []string, actions ...string) []string {
	var out []string
	for _, r := range repos {
		for _, a := range actions {
			out = append(out, "nx-repository-view-docker-"+r+"-"+a)
		}
	}
	slices.Sort(out)
	return out
}

// waitWritable asks Nexus until it says it accepts writes, or opts.Wait passes. A refusal
// of the credentials ends the wait at once.
func waitWritable(ctx context.Context, c *Client, opts Options) error {
	const path = "/service/rest/v1/status/writable"
	poll := opts.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	deadline := time.Now().Add(opts.Wait)
	for {
		err := c.send(ctx, http.MethodGet, path, "", nil, nil)
		if err == nil {
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("Nexus at %s did not accept writes within %s; the last answer: %w", c.BaseURL, opts.Wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// rest is the prefix of Nexus's REST API.
const rest = "/service/rest"

// ensure reads the object at get; when Nexus has none, it POSTs want to create, else it
// PUTs want to get when what Nexus holds differs from want (its name aside).
func ensure(ctx context.Context, c *Client, r *Report, object, get, create string, want map[string]any) error {
	var got any
	err := c.call(ctx, http.MethodGet, rest+get, nil, &got)
	switch {
	case IsNotFound(err):
		if err := c.call(ctx, http.MethodPost, rest+create, want, nil); err != nil {
			return fmt.Errorf("creating %s: %w", object, err)
		}
		r.add("created", object)
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", object, err)
	}
	// The name is in the path (and Nexus does not repeat a blob store's).
	compare := maps.Clone(want)
	delete(compare, "name")
	if why := differences(normal(compare), got, ""); len(why) > 0 {
		if err := c.call(ctx, http.MethodPut, rest+get, want, nil); err != nil {
			return fmt.Errorf("updating %s: %w", object, err)
		}
		r.add("updated", object, why...)
		return nil
	}
	r.add("unchanged", object)
	return nil
}

func ensureRepository(ctx context.Context, c *Client, r *Report, kind, name string, want map[string]any) error {
	base := "/v1/repositories/docker/" + kind
	return ensure(ctx, c, r, kind+" repository "+name, base+"/"+escape(name), base, want)
}

// normal is v as JSON decodes it (numbers as float64), for comparing with Nexus's answers.
func normal(v any) any {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// differences lists the paths where got is not what want says: want's keys only (Nexus
// adds its own), strings compared without case (Nexus upper-cases some enumerations).
func differences(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{orRoot(path)}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			out = append(out, differences(w[k], g[k], join(path, k))...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{orRoot(path)}
		}
		for i := range w {
			if len(differences(w[i], g[i], path)) > 0 {
				return []string{orRoot(path)}
			}
		}
		return nil
	case string:
		if g, ok := got.(string); !ok || !strings.EqualFold(g, w) {
			return []string{orRoot(path)}
		}
		return nil
	default:
		if want != got {
			return []string{orRoot(path)}
		}
		return nil
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "everything"
	}
	return path
}

// ensureRealms makes the active realms exactly realms, in order.
func ensureRealms(ctx context.Context, c *Client, r *Report, realms []string) error {
	const path = rest + "/v1/security/realms/active"
	var got []string
	if err := c.call(ctx, http.MethodGet, path, nil, &got); err != nil {
		return fmt.Errorf("reading the active realms: %w", err)
	}
	if slices.Equal(got, realms) {
		r.add("unchanged", "realms")
		return nil
	}
	if err := c.call(ctx, http.MethodPut, path, realms, nil); err != nil {
		return fmt.Errorf("setting the active realms to %v: %w", realms, err)
	}
	r.add("updated", "realms", fmt.Sprintf("%v → %v", got, realms))
	return nil
}

// role is a Nexus role as its API reads and writes it.
type role struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Privileges  []string `json:"privileges"`
	Roles       []string `json:"roles"`
}

// ensureRole makes role id hold exactly privileges (and no other role).
func ensureRole(ctx context.Context, c *Client, r *Report, id, description string, privileges []string) error {
	object := "role " + id
	want := role{ID: id, Name: id, Description: description, Privileges: privileges, Roles: []string{}}
	var got role
	err := c.call(ctx, http.MethodGet, rest+"/v1/security/roles/"+escape(id), nil, &got)
	switch {
	case IsNotFound(err):
		if err := c.call(ctx, http.MethodPost, rest+"/v1/security/roles", want, nil); err != nil {
			return fmt.Errorf("creating %s: %w", object, err)
		}
		r.add("created", object)
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", object, err)
	}
	var why []string
	if !sameSet(got.Privileges, privileges) {
		why = append(why, "privileges")
	}
	if len(got.Roles) > 0 {
		why = append(why, "roles")
	}
	if got.Description != description {
		why = append(why, "description")
	}
	if len(why) == 0 {
		r.add("unchanged", object)
		return nil
	}
	if err := c.call(ctx, http.MethodPut, rest+"/v1/security/roles/"+escape(id), want, nil); err != nil {
		return fmt.Errorf("updating %s: %w", object, err)
	}
	r.add("updated", object, why...)
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// user is a Nexus user as its API reads and writes it.
type user struct {
	UserID        string   `json:"userId"`
	FirstName     string   `json:"firstName"`
	LastName      string   `json:"lastName"`
	EmailAddress  string   `json:"emailAddress"`
	Source        string   `json:"source,omitempty"`
	Status        string   `json:"status"`
	ReadOnly      bool     `json:"readOnly"`
	Roles         []string `json:"roles"`
	ExternalRoles []string `json:"externalRoles,omitempty"`
	Password      string   `json:"password,omitempty"`
}

// findUser reads the user id of Nexus's own users, or nil.
func findUser(ctx context.Context, c *Client, id string) (*user, error) {
	var users []user
	if err := c.call(ctx, http.MethodGet, rest+"/v1/security/users?userId="+escape(id)+"&source=default", nil, &users); err != nil {
		return nil, fmt.Errorf("reading user %s: %w", id, err)
	}
	// userId filters by prefix: take the one whose id is id.
	for i := range users {
		if users[i].UserID == id {
			return &users[i], nil
		}
	}
	return nil, nil
}

// ensureUserRoles makes an existing user active with exactly roles.
func ensureUserRoles(ctx context.Context, c *Client, r *Report, u *user, roles []string) (bool, error) {
	var why []string
	if !sameSet(u.Roles, roles) {
		why = append(why, "roles")
	}
	if !strings.EqualFold(u.Status, "active") {
		why = append(why, "status")
	}
	if len(why) == 0 {
		return false, nil
	}
	next := *u
	next.Roles, next.Status, next.Password = roles, "active", ""
	if next.Source == "" {
		next.Source = "default"
	}
	if err := c.call(ctx, http.MethodPut, rest+"/v1/security/users/"+escape(u.UserID), next, nil); err != nil {
		return false, fmt.Errorf("updating user %s: %w", u.UserID, err)
	}
	r.add("updated", "user "+u.UserID, why...)
	return true, nil
}

// ensurePusher makes the user id exist with its push role and password.
func ensurePusher(ctx context.Context, c *Client, r *Report, id, password, role string) error {
	object := "user " + id
	u, err := findUser(ctx, c, id)
	if err != nil {
		return err
	}
	if u == nil {
		want := user{UserID: id, FirstName: id, LastName: "(lsstgen)", EmailAddress: id + "@localhost", Status: "active", Roles: []string{role}, Password: password}
		if err := c.call(ctx, http.MethodPost, rest+"/v1/security/users", want, nil); err != nil {
			return fmt.Errorf("creating %s: %w", object, err)
		}
		r.add("created", object)
		return nil
	}
	updated, err := ensureUserRoles(ctx, c, r, u, []string{role})
	if err != nil {
		return err
	}
	// Nexus never shows a password: ask as the user. 401 is a wrong password; anything
	// else means Nexus knew the user by it.
	as := *c
	as.User, as.Password = id, password
	err = as.send(ctx, http.MethodGet, rest+"/v1/status/check", "", nil, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		if err := c.send(ctx, http.MethodPut, rest+"/v1/security/users/"+escape(id)+"/change-password", "text/plain", strings.NewReader(password), nil); err != nil {
			return fmt.Errorf("setting the password of %s: %w", object, err)
		}
		r.add("updated", object, "password")
		return nil
	}
	if err != nil && (!errors.As(err, &ae) || ae.Status >= 500) {
		return fmt.Errorf("checking the password of %s: %w", object, err)
	}
	if !updated {
		r.add("unchanged", object)
	}
	return nil
}

// anonymousSettings is Nexus's anonymous access.
type anonymousSettings struct {
	Enabled   bool   `json:"enabled"`
	UserID    string `json:"userId"`
	RealmName string `json:"realmName"`
}

// ensureAnonymous turns anonymous access on (as the user anonymous, with only
// AnonymousRole) or off.
func ensureAnonymous(ctx context.Context, c *Client, r *Report, enabled bool) error {
	const path = rest + "/v1/security/anonymous"
	var got anonymousSettings
	if err := c.call(ctx, http.MethodGet, path, nil, &got); err != nil {
		return fmt.Errorf("reading the anonymous access: %w", err)
	}
	want := anonymousSettings{Enabled: enabled, UserID: "anonymous", RealmName: got.RealmName}
	if want.RealmName == "" {
		want.RealmName = "NexusAuthorizingRealm"
	}
	if got != want {
		if err := c.call(ctx, http.MethodPut, path, want, nil); err != nil {
			return fmt.Errorf("setting the anonymous access: %w", err)
		}
		r.add("updated", "anonymous access", fmt.Sprintf("enabled %v", enabled))
	} else {
		r.add("unchanged", "anonymous access")
	}
	if !enabled {
		return nil
	}
	u, err := findUser(ctx, c, "anonymous")
	if err != nil {
		return err
	}
	if u == nil {
		return fmt.Errorf("Nexus has no user anonymous to give role %s: it comes with Nexus; recreate it", AnonymousRole)
	}
	updated, err := ensureUserRoles(ctx, c, r, u, []string{AnonymousRole})
	if err == nil && !updated {
		r.add("unchanged", "user anonymous")
	}
	return err
}
