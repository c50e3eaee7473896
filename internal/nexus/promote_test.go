package nexus_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lsst-dm/lsstgen/internal/nexus"
)

// fakeDockerNexus serves the Docker registry API of Nexus's docker repositories, each at
// /repository/<name>/v2/ (an in-memory registry per repository), asks for the promoter's
// basic authentication, and records every call as "METHOD repo path".
type fakeDockerNexus struct {
	srv   *httptest.Server
	repos map[string]http.Handler
	mu    gosync.Mutex
	calls []string
}

func newFakeDockerNexus(t *testing.T, user, password string, repos ...string) *fakeDockerNexus {
	f := &fakeDockerNexus{repos: map[string]http.Handler{}}
	for _, r := range repos {
		f.repos[r] = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/repository/")
		repo, path, _ := strings.Cut(rest, "/")
		h := f.repos[repo]
		if !ok || h == nil {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+repo+" /"+path)
		f.mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="Sonatype Nexus Repository Manager"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + path
		h.ServeHTTP(w, r2)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDockerNexus) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// push puts img into repo as name:tag, as LSST CI does.
func (f *fakeDockerNexus) push(t *testing.T, repo, ref string, img v1.Image) {
	t.Helper()
	host := strings.TrimPrefix(f.srv.URL, "http://")
	// The registry under the repository's path, as the raw API sees it.
	tr := &prefix{repo: repo, next: http.DefaultTransport}
	plain, err := name.NewTag(host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(plain, img, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "lsst-promoter", Password: "pw"})); err != nil {
		t.Fatal(err)
	}
}

// prefix puts /repository/<repo> before the registry API path.
type prefix struct {
	repo string
	next http.RoundTripper
}

func (p *prefix) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = "/repository/" + p.repo + r.URL.Path
	return p.next.RoundTrip(r)
}

func (f *fakeDockerNexus) has(t *testing.T, repo, ref string) bool {
	t.Helper()
	host := strings.TrimPrefix(f.srv.URL, "http://")
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(r, remote.WithTransport(&prefix{repo: repo, next: http.DefaultTransport}),
		remote.WithAuth(&authn.Basic{Username: "lsst-promoter", Password: "pw"}))
	return err == nil
}

// TestPromote: an image CI pushed to staging is copied to the vetted repository by digest,
// with its tag, through the repositories' registry API; the calls show it read staging and
// wrote only the vetted repository. A second promotion copies nothing; what the checks
// refuse copies nothing.
func TestPromote(t *testing.T) {
	f := newFakeDockerNexus(t, "lsst-promoter", "pw", "docker-staging", "docker-hosted")
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	f.push(t, "docker-staging", "lsst-sqre/sciplat-lab:w_2026_47", img)
	f.takeCalls()
	p := &nexus.Promoter{BaseURL: f.srv.URL, User: "lsst-promoter", Password: "pw",
		Config: nexus.PromotionConfig{From: "docker-staging", To: "docker-hosted", User: "lsst-promoter"},
		Now:    func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }}
	ctx := context.Background()

	rec, err := p.Promote(ctx, "lsst-sqre/sciplat-lab:w_2026_47@"+digest.String())
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	want := nexus.PromotionRecord{Time: "2026-11-28T12:00:00Z", User: "lsst-promoter", Image: "lsst-sqre/sciplat-lab", Digest: digest.String(),
		From: "docker-staging", To: "docker-hosted", Result: "promoted"}
	if *rec != want {
		t.Errorf("record %+v, want %+v", *rec, want)
	}
	if !f.has(t, "docker-hosted", "lsst-sqre/sciplat-lab@"+digest.String()) || !f.has(t, "docker-hosted", "lsst-sqre/sciplat-lab:w_2026_47") {
		t.Error("the vetted repository does not serve the image by digest and tag")
	}
	var wroteStaging, readStaging, wroteVetted bool
	for _, c := range f.takeCalls() {
		method, rest, _ := strings.Cut(c, " ")
		repo, _, _ := strings.Cut(rest, " ")
		write := method == http.MethodPut || method == http.MethodPost || method == http.MethodPatch
		switch {
		case repo == "docker-staging" && write:
			wroteStaging = true
		case repo == "docker-staging" && strings.Contains(c, "/manifests/"+digest.String()):
			readStaging = true
		case repo == "docker-hosted" && write && strings.Contains(c, "/manifests/w_2026_47"):
			wroteVetted = true
		}
	}
	if wroteStaging || !readStaging || !wroteVetted {
		t.Errorf("calls: wrote staging %v, read the digest from staging %v, put the manifest to vetted %v; want false, true, true", wroteStaging, readStaging, wroteVetted)
	}

	// Again, by digest only: nothing to copy.
	rec, err = p.Promote(ctx, "lsst-sqre/sciplat-lab@"+digest.String())
	if err != nil || rec.Result != "already vetted" {
		t.Errorf("second promotion: %+v, %v; want already vetted", rec, err)
	}
	for _, c := range f.takeCalls() {
		if strings.HasPrefix(c, "PUT") || strings.HasPrefix(c, "POST") {
			t.Errorf("the second promotion wrote: %s", c)
		}
	}

	other, _ := random.Image(256, 1)
	otherDigest, _ := other.Digest()
	f.push(t, "docker-staging", "lsst-sqre/unsigned:1", other)
	f.takeCalls()
	signed := *p
	signed.Config.RequireSignature = true
	for _, tc := range []struct {
		name, image, says string
		p                 *nexus.Promoter
	}{
		{"a tag, not a digest", "lsst-sqre/sciplat-lab:w_2026_47", "not pinned by digest", p},
		{"a digest staging lacks", "lsst-sqre/sciplat-lab@sha256:" + strings.Repeat("0", 64), "is not in docker-staging", p},
		{"unsigned where signatures are required", "lsst-sqre/unsigned@" + otherDigest.String(), "has no signature in docker-staging", &signed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tc.p.Promote(ctx, tc.image)
			var refused *nexus.RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.says) || rec.Result != "refused" {
				t.Fatalf("record %+v, error %v; want refused saying %q", rec, err, tc.says)
			}
			for _, c := range f.takeCalls() {
				if strings.HasPrefix(c, "PUT") || strings.HasPrefix(c, "POST") || strings.HasPrefix(c, "PATCH") {
					t.Errorf("a refused promotion wrote: %s", c)
				}
			}
		})
	}
	if f.has(t, "docker-hosted", "lsst-sqre/unsigned@"+otherDigest.String()) {
		t.Error("the unsigned image reached the vetted repository")
	}

	// Signed: the signature travels with it.
	sigImg, _ := random.Image(64, 1)
	f.push(t, "docker-staging", "lsst-sqre/unsigned:"+strings.Replace(otherDigest.String(), ":", "-", 1)+".sig", sigImg)
	rec, err = signed.Promote(ctx, "lsst-sqre/unsigned@"+otherDigest.String())
	if err != nil || rec.Result != "promoted" || rec.Signature == "" {
		t.Fatalf("signed promotion: %+v, %v", rec, err)
	}
	if !f.has(t, "docker-hosted", "lsst-sqre/unsigned:"+strings.Replace(otherDigest.String(), ":", "-", 1)+".sig") {
		t.Error("the signature was not copied to the vetted repository")
	}

	// Wrong credentials: an error, not a refusal.
	bad := *p
	bad.Password = "wrong"
	if _, err := bad.Promote(ctx, "lsst-sqre/sciplat-lab@"+digest.String()); err == nil || errors.As(err, new(*nexus.RefusedError)) {
		t.Errorf("wrong password: %v", err)
	}
}
