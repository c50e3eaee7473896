package gitsource

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The servers below are git's own: git http-backend (the smart HTTP server, run as CGI as
// a web server runs it) and git upload-pack behind an SSH server on loopback. The HTTP
// one asks for a token by basic authentication, as a forge does.

// gitExecPath is where git keeps its server programs.
func gitExecPath(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// bareCopy makes a bare repository of dir under root/name, as a server holds it.
func bareCopy(t *testing.T, dir, root, name string) {
	t.Helper()
	if out, err := exec.Command("git", "clone", "--bare", "--quiet", dir, filepath.Join(root, name)).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
}

// httpGitServer serves the bare repositories under root over HTTPS with git http-backend,
// asking for basic authentication with the password token. It returns the server's URL
// and the PEM of its CA.
func httpGitServer(t *testing.T, root, token string) (string, []byte) {
	t.Helper()
	backend := &cgi.Handler{
		Path: filepath.Join(gitExecPath(t), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pass, ok := r.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.URL, ca
}

// sshGitServer serves the bare repositories under root over SSH on loopback: it accepts
// the client key allowed and runs git-upload-pack for the path asked. It returns the
// address and a known_hosts file holding its host key.
func sshGitServer(t *testing.T, root string, allowed ssh.PublicKey) (string, string) {
	t.Helper()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(key.Marshal(), allowed.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("key not allowed")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	uploadPack := filepath.Join(gitExecPath(t), "git-upload-pack")
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveSSH(conn, cfg, root, uploadPack)
			}()
		}
	}()
	known := filepath.Join(t.TempDir(), "known_hosts")
	addr := ln.Addr().(*net.TCPAddr)
	line := fmt.Sprintf("[127.0.0.1]:%d %s", addr.Port, ssh.MarshalAuthorizedKey(signer.PublicKey()))
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), known
}

// serveSSH runs one connection: each session's exec of git-upload-pack '<path>'.
func serveSSH(conn net.Conn, cfg *ssh.ServerConfig, root, uploadPack string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				if req.Type != "exec" {
					_ = req.Reply(false, nil)
					continue
				}
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					_ = req.Reply(false, nil)
					return
				}
				_ = req.Reply(true, nil)
				status := runUploadPack(ch, payload.Command, root, uploadPack)
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
				return
			}
		}()
	}
}

func runUploadPack(ch ssh.Channel, command, root, uploadPack string) uint32 {
	name, arg, ok := strings.Cut(command, " ")
	if !ok || name != "git-upload-pack" {
		fmt.Fprintf(ch.Stderr(), "only git-upload-pack is served\n")
		return 1
	}
	repo := filepath.Join(root, strings.Trim(arg, "'/"))
	cmd := exec.Command(uploadPack, repo)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
	if err := cmd.Run(); err != nil {
		return 1
	}
	return 0
}

// clientKey is a new ed25519 key as an SSH deploy key file holds it.
func clientKey(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// TestHTTPSWithTokenAndCA: a repository behind HTTPS with a private CA and a token is
// cloned and fetched with both; each missing or wrong part fails naming that part, and
// leaves no clone behind.
func TestHTTPSWithTokenAndCA(t *testing.T) {
	dir, _, second := newRepo(t)
	root := t.TempDir()
	bareCopy(t, dir, root, "lsstgen.git")
	url, ca := httpGitServer(t, root, "s3cret")
	ctx := context.Background()
	good := Credentials{Token: "s3cret", CABundle: ca}
	r := &Repository{Location: url + "/lsstgen.git", CacheDir: filepath.Join(t.TempDir(), "clone"), Credentials: good}
	if err := r.Update(ctx); err != nil {
		t.Fatalf("clone with the token and the CA: %v", err)
	}
	if got, err := r.Resolve(ctx, "main"); err != nil || got != second {
		t.Errorf("Resolve(main) = %s, %v; want %s", got, err, second)
	}
	if got, err := r.Resolve(ctx, ""); err != nil || got != second {
		t.Errorf("Resolve of the default branch = %s, %v; want %s", got, err, second)
	}
	if err := r.Update(ctx); err != nil {
		t.Errorf("fetch: %v", err)
	}
	var re *RevisionError
	if _, err := r.Resolve(ctx, "no-such-branch"); !errors.As(err, &re) {
		t.Errorf("a revision the remote lacks: %v, want a *RevisionError", err)
	}

	for _, tc := range []struct {
		name, location, part string
		creds                Credentials
	}{
		{"no CA", url + "/lsstgen.git", "TLS", Credentials{Token: "s3cret"}},
		{"wrong token", url + "/lsstgen.git", "authentication", Credentials{Token: "wrong", CABundle: ca}},
		{"no token", url + "/lsstgen.git", "authentication", Credentials{CABundle: ca}},
		{"no such repository", url + "/other.git", "repository", good},
		{"host that does not resolve", "https://git.nowhere.invalid/lsstgen.git", "DNS", good},
		{"nothing listening", "https://127.0.0.1:1/lsstgen.git", "network", good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "clone")
			err := (&Repository{Location: tc.location, CacheDir: cache, Credentials: tc.creds}).Update(ctx)
			var ae *AccessError
			if !errors.As(err, &ae) || ae.Reason() != tc.part {
				t.Fatalf("error %v (%T), want an *AccessError of the %s", err, err, tc.part)
			}
			if !strings.Contains(err.Error(), "cloning "+tc.location+": "+tc.part+":") {
				t.Errorf("error does not say what and which part: %v", err)
			}
			if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed clone left %s: %v", cache, err)
			}
		})
	}
	// A clone that worked, fetched with a token since revoked: the clone stays as it was.
	r.Credentials = Credentials{Token: "revoked", CABundle: ca}
	var ae *AccessError
	if err := r.Update(ctx); !errors.As(err, &ae) || ae.Reason() != "authentication" || !strings.Contains(err.Error(), "fetching") {
		t.Errorf("fetch with a revoked token: %v", err)
	}
	if got, err := r.Resolve(ctx, "main"); err != nil || got != second {
		t.Errorf("after the failed fetch, Resolve(main) = %s, %v; want %s still", got, err, second)
	}
}

// TestSSHWithDeployKey: a repository behind SSH is cloned with a deploy key whose server
// is in known_hosts; a key the server refuses, or a server whose host key is not the one
// known, fails as authentication; a key without known_hosts is refused before connecting.
func TestSSHWithDeployKey(t *testing.T) {
	dir, _, second := newRepo(t)
	root := t.TempDir()
	bareCopy(t, dir, root, "lsstgen.git")
	key, pub := clientKey(t)
	addr, known := sshGitServer(t, root, pub)
	location := "ssh://git@" + addr + "/lsstgen.git"
	ctx := context.Background()
	r := &Repository{Location: location, CacheDir: filepath.Join(t.TempDir(), "clone"),
		Credentials: Credentials{SSHKey: key, KnownHostsFiles: []string{known}}}
	if err := r.Update(ctx); err != nil {
		t.Fatalf("clone with the deploy key: %v", err)
	}
	if got, err := r.Resolve(ctx, "main"); err != nil || got != second {
		t.Errorf("Resolve(main) = %s, %v; want %s", got, err, second)
	}

	otherKey, _ := clientKey(t)
	_, otherKnown := sshGitServer(t, root, pub) // another server's host key
	for _, tc := range []struct {
		name  string
		creds Credentials
	}{
		{"key the server refuses", Credentials{SSHKey: otherKey, KnownHostsFiles: []string{known}}},
		{"unknown host key", Credentials{SSHKey: key, KnownHostsFiles: []string{otherKnown}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Repository{Location: location, CacheDir: filepath.Join(t.TempDir(), "clone"), Credentials: tc.creds}).Update(ctx)
			var ae *AccessError
			if !errors.As(err, &ae) || ae.Reason() != "authentication" {
				t.Fatalf("error %v (%T), want an *AccessError of the authentication", err, err)
			}
		})
	}
	err := (&Repository{Location: location, CacheDir: filepath.Join(t.TempDir(), "clone"), Credentials: Credentials{SSHKey: key}}).Update(ctx)
	if err == nil || !strings.Contains(err.Error(), "needs known_hosts") {
		t.Errorf("a key without known_hosts: %v", err)
	}
}

// TestCredentialsRefused: credentials that do not fit the location are refused before
// anything is read.
func TestCredentialsRefused(t *testing.T) {
	key, _ := clientKey(t)
	for _, tc := range []struct {
		location string
		creds    Credentials
		want     string
	}{
		{"https://git.example.org/x.git", Credentials{Token: "t", SSHKey: key}, "both a token and an SSH key"},
		{"git@git.example.org:x.git", Credentials{Token: "t"}, "not an https:// URL"},
		{"https://git.example.org/x.git", Credentials{SSHKey: key, KnownHostsFiles: []string{"k"}}, "not an ssh://"},
		{"git@git.example.org:x.git", Credentials{SSHKey: []byte("not a key"), KnownHostsFiles: []string{"k"}}, "reading the SSH key"},
	} {
		err := (&Repository{Location: tc.location, CacheDir: filepath.Join(t.TempDir(), "c"), Credentials: tc.creds}).Update(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %+v: error %v, want %q", tc.location, tc.creds, err, tc.want)
		}
	}
}
