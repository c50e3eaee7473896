// Package nexustest is a fake of the part of Nexus Repository's REST API that lsstgen's
// provisioning calls, for tests: it keeps blob stores, docker repositories, realms, roles,
// users and the anonymous access in memory, answers as Nexus does (404 for what is
// missing, 400 for a name taken, 401 for wrong credentials, upper-cased write policies,
// fields of its own beside those it was given), and records every call it receives.
// Nothing in it is tested against a real Nexus.
package nexustest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Fake is a Nexus held in memory. Its fields are its state; a test may change them
// between runs (under Lock) to make drift.
type Fake struct {
	sync.Mutex
	// AdminPassword is the admin's password (user admin).
	AdminPassword string
	// NotWritable makes status/writable answer 503 that many more times.
	NotWritable int
	// Fail makes a call ("METHOD /service/rest/…path", without the query) answer with
	// this status.
	Fail map[string]int

	BlobStores map[string]map[string]any
	// Repositories by name; each has "type" hosted, proxy or group.
	Repositories map[string]map[string]any
	Realms       []string
	Roles        map[string]map[string]any
	Users        map[string]*User
	Anonymous    map[string]any

	calls []string
}

// User is a user of the fake.
type User struct {
	Password string
	Fields   map[string]any
}

// New starts a fake Nexus with its first-start state: the default blob store, the
// authenticating realm, users admin and anonymous, anonymous access off. It is closed
// when the test ends.
func New(t testing.TB, adminPassword string) (*Fake, *httptest.Server) {
	f := &Fake{
		AdminPassword: adminPassword,
		Fail:          map[string]int{},
		BlobStores:    map[string]map[string]any{"default": {"path": "default"}},
		Repositories:  map[string]map[string]any{},
		Realms:        []string{"NexusAuthenticatingRealm"},
		Roles:         map[string]map[string]any{},
		Users: map[string]*User{
			"admin":     {Password: adminPassword, Fields: map[string]any{"userId": "admin", "firstName": "Administrator", "lastName": "User", "emailAddress": "admin@example.org", "source": "default", "status": "active", "readOnly": false, "roles": []any{"nx-admin"}, "externalRoles": []any{}}},
			"anonymous": {Fields: map[string]any{"userId": "anonymous", "firstName": "Anonymous", "lastName": "User", "emailAddress": "anonymous@example.org", "source": "default", "status": "active", "readOnly": false, "roles": []any{"nx-anonymous"}, "externalRoles": []any{}}},
		},
		Anonymous: map[string]any{"enabled": false, "userId": "anonymous", "realmName": "NexusAuthorizingRealm"},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// Calls returns the calls received since the last Calls, as "METHOD path?query".
func (f *Fake) Calls() []string {
	f.Lock()
	defer f.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// Writes returns, of calls, those that change something (not GET).
func Writes(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

// knownRealms are the realms the fake, like Nexus, accepts.
var knownRealms = []string{"NexusAuthenticatingRealm", "DockerToken", "LdapRealm", "NpmToken"}

const rest = "/service/rest/v1"

// ServeHTTP answers one call.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Lock()
	defer f.Unlock()
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		f.calls = append(f.calls, call+"?"+r.URL.RawQuery)
	} else {
		f.calls = append(f.calls, call)
	}
	if code, ok := f.Fail[call]; ok {
		http.Error(w, `{"message":"injected failure"}`, code)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, rest)
	if !ok {
		http.NotFound(w, r)
		return
	}
	user, pass, hasAuth := r.BasicAuth()
	if path == "/status/writable" {
		if f.NotWritable > 0 {
			f.NotWritable--
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return
	}
	u, known := f.Users[user]
	if !hasAuth || !known || u.Password == "" || u.Password != pass {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if path == "/status/check" {
		if user != "admin" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		writeJSON(w, map[string]any{})
		return
	}
	if user != "admin" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var body map[string]any
	readBody := func() bool {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"message":"bad JSON"}`, http.StatusBadRequest)
			return false
		}
		return true
	}
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(seg) == 3 && seg[0] == "blobstores" && seg[1] == "file":
		b, ok := f.BlobStores[seg[2]]
		switch {
		case !ok:
			http.NotFound(w, r)
		case r.Method == http.MethodGet:
			writeJSON(w, map[string]any{"path": b["path"], "softQuota": nil})
		case r.Method == http.MethodPut && readBody():
			f.BlobStores[seg[2]] = map[string]any{"path": body["path"]}
			w.WriteHeader(http.StatusNoContent)
		}
	case len(seg) == 2 && seg[0] == "blobstores" && seg[1] == "file" && r.Method == http.MethodPost:
		if !readBody() {
			return
		}
		name, _ := body["name"].(string)
		if _, taken := f.BlobStores[name]; taken || name == "" {
			http.Error(w, `{"message":"blob store exists"}`, http.StatusBadRequest)
			return
		}
		f.BlobStores[name] = map[string]any{"path": body["path"]}
		w.WriteHeader(http.StatusNoContent)
	case len(seg) == 3 && seg[0] == "repositories" && seg[1] == "docker" && r.Method == http.MethodPost:
		if !readBody() {
			return
		}
		name, _ := body["name"].(string)
		if _, taken := f.Repositories[name]; taken || name == "" {
			http.Error(w, `{"message":"repository name already used"}`, http.StatusBadRequest)
			return
		}
		if !f.validRepository(w, seg[2], body) {
			return
		}
		f.Repositories[name] = stored(seg[2], body)
		w.WriteHeader(http.StatusCreated)
	case len(seg) == 4 && seg[0] == "repositories" && seg[1] == "docker":
		repo, ok := f.Repositories[seg[3]]
		if !ok || repo["type"] != seg[2] {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, repo)
		case http.MethodPut:
			if readBody() && f.validRepository(w, seg[2], body) {
				f.Repositories[seg[3]] = stored(seg[2], body)
				w.WriteHeader(http.StatusNoContent)
			}
		}
	case path == "/security/realms/active":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, f.Realms)
		case http.MethodPut:
			var realms []string
			if err := json.NewDecoder(r.Body).Decode(&realms); err != nil {
				http.Error(w, `{"message":"bad JSON"}`, http.StatusBadRequest)
				return
			}
			for _, x := range realms {
				if !slices.Contains(knownRealms, x) {
					http.Error(w, `{"message":"unknown realm"}`, http.StatusBadRequest)
					return
				}
			}
			f.Realms = realms
			w.WriteHeader(http.StatusNoContent)
		}
	case path == "/security/roles" && r.Method == http.MethodPost:
		if !readBody() {
			return
		}
		id, _ := body["id"].(string)
		if _, taken := f.Roles[id]; taken || id == "" {
			http.Error(w, `{"message":"role exists"}`, http.StatusBadRequest)
			return
		}
		f.Roles[id] = body
		writeJSON(w, body)
	case len(seg) == 3 && seg[0] == "security" && seg[1] == "roles":
		role, ok := f.Roles[seg[2]]
		switch {
		case !ok:
			http.NotFound(w, r)
		case r.Method == http.MethodGet:
			writeJSON(w, map[string]any{"id": role["id"], "source": "default", "name": role["name"], "description": role["description"], "readOnly": false, "privileges": role["privileges"], "roles": role["roles"]})
		case r.Method == http.MethodPut && readBody():
			f.Roles[seg[2]] = body
			w.WriteHeader(http.StatusNoContent)
		}
	case path == "/security/users" && r.Method == http.MethodGet:
		prefix := r.URL.Query().Get("userId")
		out := []any{}
		for _, id := range sortedUsers(f.Users) {
			if strings.HasPrefix(id, prefix) {
				out = append(out, f.Users[id].Fields)
			}
		}
		writeJSON(w, out)
	case path == "/security/users" && r.Method == http.MethodPost:
		if !readBody() {
			return
		}
		id, _ := body["userId"].(string)
		pw, _ := body["password"].(string)
		if _, taken := f.Users[id]; taken || id == "" || pw == "" {
			http.Error(w, `{"message":"user exists or has no password"}`, http.StatusBadRequest)
			return
		}
		delete(body, "password")
		body["source"], body["readOnly"], body["externalRoles"] = "default", false, []any{}
		f.Users[id] = &User{Password: pw, Fields: body}
		writeJSON(w, body)
	case len(seg) == 3 && seg[0] == "security" && seg[1] == "users" && r.Method == http.MethodPut:
		u, ok := f.Users[seg[2]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if readBody() {
			if _, has := body["password"]; has {
				http.Error(w, `{"message":"a password is changed by change-password"}`, http.StatusBadRequest)
				return
			}
			u.Fields = body
			w.WriteHeader(http.StatusNoContent)
		}
	case len(seg) == 4 && seg[0] == "security" && seg[1] == "users" && seg[3] == "change-password" && r.Method == http.MethodPut:
		u, ok := f.Users[seg[2]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		pw, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "text/plain" || len(pw) == 0 {
			http.Error(w, `{"message":"text/plain password expected"}`, http.StatusBadRequest)
			return
		}
		u.Password = string(pw)
		w.WriteHeader(http.StatusNoContent)
	case path == "/security/anonymous":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, f.Anonymous)
		case http.MethodPut:
			if readBody() {
				f.Anonymous = body
				writeJSON(w, body)
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// validRepository checks a repository body as Nexus would, answering 400 when it is not.
func (f *Fake) validRepository(w http.ResponseWriter, kind string, body map[string]any) bool {
	storage, _ := body["storage"].(map[string]any)
	store, _ := storage["blobStoreName"].(string)
	if _, ok := f.BlobStores[store]; !ok {
		http.Error(w, `{"message":"blob store not found"}`, http.StatusBadRequest)
		return false
	}
	if kind == "group" {
		group, _ := body["group"].(map[string]any)
		members, _ := group["memberNames"].([]any)
		for _, m := range members {
			if _, ok := f.Repositories[m.(string)]; !ok {
				http.Error(w, `{"message":"group member not found"}`, http.StatusBadRequest)
				return false
			}
		}
	}
	return true
}

// stored is a repository as Nexus keeps and shows it: its format, type and URL added, the
// write policy upper-cased.
func stored(kind string, body map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	out["format"], out["type"] = "docker", kind
	out["url"] = "http://nexus/repository/" + body["name"].(string)
	if s, ok := out["storage"].(map[string]any); ok {
		if p, ok := s["writePolicy"].(string); ok {
			s["writePolicy"] = strings.ToUpper(p)
		}
	}
	return out
}

func sortedUsers(m map[string]*User) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
