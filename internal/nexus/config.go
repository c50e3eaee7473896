package nexus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Config is what a Nexus is provisioned with: the JSON platform/registry.cue renders into
// the registry's ConfigMap (registry.json).
type Config struct {
	// BlobStores are file blob stores to have besides Nexus's "default", each at a path
	// relative to Nexus's blobs folder (a volume of its own, for instance).
	BlobStores []BlobStore `json:"blobStores"`
	// Hosted are docker hosted repositories, which LSST CI pushes to.
	Hosted []HostedRepository `json:"hosted"`
	// Proxies are docker proxy repositories, each caching one upstream registry.
	Proxies []ProxyRepository `json:"proxies"`
	// Groups are docker group repositories, each serving its members under one name.
	Groups []GroupRepository `json:"groups"`
	// Realms are the active security realms, in order. The first must be
	// NexusAuthenticatingRealm: without it, nobody can log in.
	Realms []string `json:"realms"`
	// AnonymousRead are the repositories anyone may pull from without logging in (the
	// nodes' container runtime pulls so).
	AnonymousRead []string `json:"anonymousRead"`
	// Pushers are the users that may push, each to its repositories.
	Pushers []Pusher `json:"pushers"`
	// Promotion is the vetted path: images go from From (staging, where CI pushes) to To
	// (vetted, what the platform pulls) only by `lsstgen registry promote`. Provisioning
	// does not read it.
	Promotion *PromotionConfig `json:"promotion,omitempty"`
}

// PromotionConfig is what a promotion checks and where it copies.
type PromotionConfig struct {
	From string `json:"from"`
	To   string `json:"to"`
	// User is the promoter, the one user that may push to To.
	User string `json:"user"`
	// RequireSignature: the image's cosign signature (the tag sha256-<hex>.sig) must be in
	// From, and is copied with it.
	RequireSignature bool `json:"requireSignature"`
}

// BlobStore is a file blob store.
type BlobStore struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// HostedRepository is a docker hosted repository.
type HostedRepository struct {
	Name      string `json:"name"`
	BlobStore string `json:"blobStore"`
	// WritePolicy is ALLOW, ALLOW_ONCE (a tag is never overwritten) or DENY.
	WritePolicy string `json:"writePolicy"`
}

// ProxyRepository is a docker proxy repository of an upstream registry.
type ProxyRepository struct {
	Name      string `json:"name"`
	BlobStore string `json:"blobStore"`
	// RemoteURL is the upstream registry's API (https://registry-1.docker.io for Docker
	// Hub).
	RemoteURL string `json:"remoteUrl"`
	// IndexType is HUB for Docker Hub, REGISTRY for the others.
	IndexType string `json:"indexType"`
}

// GroupRepository is a docker group repository.
type GroupRepository struct {
	Name      string   `json:"name"`
	BlobStore string   `json:"blobStore"`
	Members   []string `json:"members"`
}

// Pusher is a user that may push to some repositories (and pull from them), with the
// password an environment variable of the provisioning process holds.
type Pusher struct {
	User         string   `json:"user"`
	PasswordEnv  string   `json:"passwordEnv"`
	Repositories []string `json:"repositories"`
	// Reads are repositories the user may pull from without pushing (the promoter reads
	// the staging repository and pushes to the vetted one).
	Reads []string `json:"reads,omitempty"`
}

// AuthenticatingRealm is the realm of Nexus's own users; it must stay active and first.
const AuthenticatingRealm = "NexusAuthenticatingRealm"

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9._]*$`)

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a configuration (unknown fields refused) and checks it: names are
// Nexus repository names and unique, every repository a group, a pusher or anonymous read
// names exists, blob stores exist, write policies and index types are Nexus's, and the
// realms start with NexusAuthenticatingRealm.
func ParseConfig(data []byte) (*Config, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("not a registry configuration: %w", err)
	}
	var errs []error
	stores := []string{"default"}
	for _, b := range cfg.BlobStores {
		if !nameRE.MatchString(b.Name) || b.Path == "" {
			errs = append(errs, fmt.Errorf("blob store %q: a name of letters, digits, . _ - and a path are required", b.Name))
		}
		stores = append(stores, b.Name)
	}
	repos := map[string]bool{}
	addRepo := func(kind, name, store string) {
		switch {
		case !nameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("%s repository %q: a name of letters, digits, . _ - is required", kind, name))
		case repos[name]:
			errs = append(errs, fmt.Errorf("repository %q is configured twice", name))
		}
		if !slices.Contains(stores, store) {
			errs = append(errs, fmt.Errorf("%s repository %q uses blob store %q, which is neither default nor one of blobStores", kind, name, store))
		}
		repos[name] = true
	}
	for _, h := range cfg.Hosted {
		addRepo("hosted", h.Name, h.BlobStore)
		if !slices.Contains([]string{"ALLOW", "ALLOW_ONCE", "DENY"}, h.WritePolicy) {
			errs = append(errs, fmt.Errorf("hosted repository %q: writePolicy %q is not ALLOW, ALLOW_ONCE or DENY", h.Name, h.WritePolicy))
		}
	}
	for _, p := range cfg.Proxies {
		addRepo("proxy", p.Name, p.BlobStore)
		if !strings.HasPrefix(p.RemoteURL, "https://") {
			errs = append(errs, fmt.Errorf("proxy repository %q: remoteUrl %q is not an https:// URL", p.Name, p.RemoteURL))
		}
		if p.IndexType != "HUB" && p.IndexType != "REGISTRY" {
			errs = append(errs, fmt.Errorf("proxy repository %q: indexType %q is not HUB or REGISTRY", p.Name, p.IndexType))
		}
	}
	for _, g := range cfg.Groups {
		addRepo("group", g.Name, g.BlobStore)
	}
	for _, g := range cfg.Groups {
		for _, m := range g.Members {
			if !repos[m] || m == g.Name {
				errs = append(errs, fmt.Errorf("group repository %q: member %q is not another configured repository", g.Name, m))
			}
		}
	}
	for _, r := range cfg.AnonymousRead {
		if !repos[r] {
			errs = append(errs, fmt.Errorf("anonymousRead: %q is not a configured repository", r))
		}
	}
	for _, p := range cfg.Pushers {
		if !nameRE.MatchString(p.User) || p.PasswordEnv == "" || len(p.Repositories) == 0 {
			errs = append(errs, fmt.Errorf("pusher %q: a user name, passwordEnv and repositories are required", p.User))
		}
		for _, r := range slices.Concat(p.Repositories, p.Reads) {
			if !repos[r] {
				errs = append(errs, fmt.Errorf("pusher %q: %q is not a configured repository", p.User, r))
			}
		}
	}
	if p := cfg.Promotion; p != nil {
		if !repos[p.From] || !repos[p.To] || p.From == p.To || p.User == "" {
			errs = append(errs, fmt.Errorf("promotion from %q to %q by %q: two different configured repositories and a user are required", p.From, p.To, p.User))
		}
	}
	if len(cfg.Realms) == 0 || cfg.Realms[0] != AuthenticatingRealm {
		errs = append(errs, fmt.Errorf("realms %v: the first must be %s, or nobody can log in", cfg.Realms, AuthenticatingRealm))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &cfg, nil
}
