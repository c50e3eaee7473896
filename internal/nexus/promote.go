package nexus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Promoter copies images from the staging repository to the vetted one, by digest, through
// the Docker registry API Nexus serves for each docker repository at /repository/<name>/v2/.
// Nexus Repository OSS has no API to copy or move a component (its staging move is Nexus
// Pro's), so the promoter pulls the manifest and blobs from staging and pushes them to the
// vetted repository, the way any registry client copies an image.
type Promoter struct {
	// BaseURL is Nexus's address, such as http://nexus.registry.svc:8081.
	BaseURL string
	// User and Password are the promoter's: it reads staging and pushes to vetted.
	User, Password string
	Config         PromotionConfig
	// Transport sends the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock of the record; nil means time.Now.
	Now func() time.Time
}

// PromotionRecord is the log line of one promotion: what was asked, by whom, and what came
// of it ("promoted", "already vetted" or "refused").
type PromotionRecord struct {
	Time      string `json:"time"`
	User      string `json:"user"`
	Image     string `json:"image"`
	Digest    string `json:"digest"`
	From      string `json:"from"`
	To        string `json:"to"`
	Signature string `json:"signature,omitempty"`
	Result    string `json:"result"`
	Reason    string `json:"reason,omitempty"`
}

// RefusedError is a promotion the checks refused: nothing was copied.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "promotion refused: " + e.Reason }

// The two registries of a promotion, as the references name them; the transport sends
// their requests to the repositories' API paths on Nexus.
const fromHost, toHost = "staging.promote", "vetted.promote"

// Promote copies image — NAME@sha256:HEX or NAME:TAG@sha256:HEX, NAME a repository path in
// Nexus — from Config.From to Config.To, checking what the configuration asks: the digest,
// that staging holds it, and the signature when required. A promotion of a digest the
// vetted repository already holds copies nothing. The record says what happened; the
// error, why it did not.
func (p *Promoter) Promote(ctx context.Context, image string) (*PromotionRecord, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	rec := &PromotionRecord{Time: now().UTC().Format(time.RFC3339), User: p.User, Image: image, From: p.Config.From, To: p.Config.To}
	refuse := func(format string, a ...any) (*PromotionRecord, error) {
		rec.Result, rec.Reason = "refused", fmt.Sprintf(format, a...)
		return rec, &RefusedError{Reason: rec.Reason}
	}
	nameTag, digest, ok := strings.Cut(image, "@")
	if !ok || !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		return refuse("%s is not pinned by digest (NAME@sha256:…): a promotion copies exactly the image that was vetted", image)
	}
	repoName, tag := nameTag, ""
	if i := strings.LastIndex(nameTag, ":"); i > strings.LastIndex(nameTag, "/") {
		repoName, tag = nameTag[:i], nameTag[i+1:]
	}
	rec.Image, rec.Digest = repoName, digest
	src, err := name.NewDigest(fromHost+"/"+repoName+"@"+digest, name.Insecure)
	if err != nil {
		return refuse("%s: %v", image, err)
	}
	dstRepo, err := name.NewRepository(toHost+"/"+repoName, name.Insecure)
	if err != nil {
		return refuse("%s: %v", image, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(p.transport()),
		remote.WithAuth(&authn.Basic{Username: p.User, Password: p.Password})}

	desc, err := remote.Get(src, opts...)
	if err != nil {
		if isNotFound(err) {
			return refuse("%s is not in %s: CI pushes there first", src.DigestStr(), p.Config.From)
		}
		return nil, fmt.Errorf("reading %s@%s from %s: %w", repoName, digest, p.Config.From, err)
	}
	var sig *remote.Descriptor
	if p.Config.RequireSignature {
		sigTag := src.Context().Tag(strings.Replace(digest, ":", "-", 1) + ".sig")
		sig, err = remote.Get(sigTag, opts...)
		if isNotFound(err) {
			return refuse("%s has no signature in %s (the tag %s): this instance promotes signed images only", digest, p.Config.From, sigTag.TagStr())
		}
		if err != nil {
			return nil, fmt.Errorf("reading the signature of %s: %w", digest, err)
		}
		rec.Signature = sigTag.TagStr()
	}
	if _, err := remote.Head(dstRepo.Digest(digest), opts...); err == nil && tag == "" {
		rec.Result = "already vetted"
		return rec, nil
	} else if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("reading %s from %s: %w", digest, p.Config.To, err)
	}
	dst := name.Reference(dstRepo.Digest(digest))
	if tag != "" {
		dst = dstRepo.Tag(tag)
	}
	if err := writeDescriptor(dst, desc, opts); err != nil {
		return nil, fmt.Errorf("copying %s to %s: %w", digest, p.Config.To, err)
	}
	if sig != nil {
		if err := writeDescriptor(dstRepo.Tag(strings.Replace(digest, ":", "-", 1)+".sig"), sig, opts); err != nil {
			return nil, fmt.Errorf("copying the signature of %s to %s: %w", digest, p.Config.To, err)
		}
	}
	rec.Result = "promoted"
	return rec, nil
}

// writeDescriptor writes an image or an index, as desc is, to ref.
func writeDescriptor(ref name.Reference, desc *remote.Descriptor, opts []remote.Option) error {
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return remote.WriteIndex(ref, idx, opts...)
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	return remote.Write(ref, img, opts...)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

func (p *Promoter) transport() http.RoundTripper {
	next := p.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &repositoryTransport{base: p.BaseURL, repos: map[string]string{fromHost: p.Config.From, toHost: p.Config.To}, next: next}
}

// repositoryTransport sends the registry API requests of each promotion registry to its
// repository's API on Nexus: http://<registry>/v2/<rest> → <base>/repository/<repo>/v2/<rest>.
type repositoryTransport struct {
	base  string
	repos map[string]string
	next  http.RoundTripper
}

func (t *repositoryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	repo, ok := t.repos[r.URL.Host]
	if !ok {
		return t.next.RoundTrip(r)
	}
	base, err := url.Parse(t.base)
	if err != nil {
		return nil, err
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = base.Scheme, base.Host
	prefix := strings.TrimSuffix(base.Path, "/") + "/repository/" + repo
	// An upload's Location may already name the repository's path.
	if !strings.HasPrefix(out.URL.Path, prefix+"/") {
		out.URL.Path = prefix + out.URL.Path
	}
	out.URL.RawPath = ""
	out.Host = base.Host
	resp, err := t.next.RoundTrip(out)
	if resp != nil {
		// Relative Locations (upload sessions) resolve against the registry as the
		// client named it, so that they come back through here.
		resp.Request = r
	}
	return resp, err
}
