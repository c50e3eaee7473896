package gitsource

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Credentials reach a remote repository: an HTTPS token, or an SSH deploy key checked
// against known_hosts; and a CA bundle for an HTTPS server whose certificate the system's
// roots do not sign. The sync daemon reads them from the files of a Secret the instance
// names.
type Credentials struct {
	// Username and Token authenticate over HTTPS (basic authentication, the way GitHub
	// and GitLab take a token: any user name, the token as the password). Username
	// defaults to "git".
	Username, Token string
	// SSHKey is a PEM private key (a deploy key) for ssh:// and scp-like locations;
	// SSHKeyPassphrase opens it when it is encrypted.
	SSHKey           []byte
	SSHKeyPassphrase string
	// KnownHostsFiles hold the server's host keys; an SSH key without them is refused
	// (a host key is never taken on first use).
	KnownHostsFiles []string
	// CABundle is PEM certificates trusted beside the system's for HTTPS.
	CABundle []byte
}

type authMethod = transport.AuthMethod

// auth is the transport authentication for location: nil for anonymous.
func (c Credentials) auth(location string) (authMethod, error) {
	ssh := !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") && !strings.HasPrefix(location, "file://")
	switch {
	case c.Token != "" && len(c.SSHKey) > 0:
		return nil, errors.New("both a token and an SSH key are given: a repository is reached with one")
	case c.Token != "":
		if ssh {
			return nil, fmt.Errorf("a token authenticates over HTTPS, and %s is not an https:// URL: give an SSH key instead", location)
		}
		user := c.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: c.Token}, nil
	case len(c.SSHKey) > 0:
		if !ssh {
			return nil, fmt.Errorf("an SSH key authenticates over SSH, and %s is not an ssh:// or user@host:path location: give a token instead", location)
		}
		if len(c.KnownHostsFiles) == 0 {
			return nil, errors.New("an SSH key needs known_hosts: give the server's host keys (a host key is never taken on first use)")
		}
		keys, err := gitssh.NewPublicKeys(sshUser(location), c.SSHKey, c.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("reading the SSH key: %w", err)
		}
		cb, err := knownhosts.New(c.KnownHostsFiles...)
		if err != nil {
			return nil, fmt.Errorf("reading known_hosts: %w", err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	}
	return nil, nil
}

// sshUser is the user an SSH location names (git@host:path), or git.
func sshUser(location string) string {
	if u, err := url.Parse(location); err == nil && u.User != nil && u.User.Username() != "" {
		return u.User.Username()
	}
	if at := strings.Index(location, "@"); at > 0 && !strings.Contains(location[:at], "/") {
		return location[:at]
	}
	return "git"
}

// AccessError is a remote that could not be read: Part says what failed — "DNS", "TLS",
// "authentication", "repository" (the server has none at that path) or "network" — and
// Err the transport's own error.
type AccessError struct {
	Op, Location, Part string
	Err                error
}

func (e *AccessError) Error() string {
	part := e.Part
	if part == "" {
		part = classify(e.Err)
	}
	return fmt.Sprintf("%s %s: %s: %v%s", e.Op, e.Location, part, e.Err, hints[part])
}

func (e *AccessError) Unwrap() error { return e.Err }

// Reason is the part that failed, for metrics and Events.
func (e *AccessError) Reason() string {
	if e.Part != "" {
		return e.Part
	}
	return classify(e.Err)
}

var hints = map[string]string{
	"DNS":            "; check the repository's host name, and the cluster's DNS and egress",
	"TLS":            "; give the CA that signs the server's certificate (the repository's CA bundle)",
	"authentication": "; check the token or deploy key, and that it may read the repository",
	"repository":     "; check the repository's path, and that the credentials may see it",
	"network":        "; check that the host is reachable from here (egress, proxy, port)",
}

// classify says which part of reaching a remote err comes from.
func classify(err error) string {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &dnsErr):
		return "DNS"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify), errors.As(err, &header):
		return "TLS"
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.As(err, &keyErr), errors.As(err, &revoked):
		return "authentication"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return "repository"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return "TLS"
	case strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "knownhosts:") || strings.Contains(msg, "host key"):
		return "authentication"
	case strings.Contains(msg, "no such host"):
		return "DNS"
	case strings.Contains(msg, "repository not found") || strings.Contains(msg, "does not appear to be a git repository"):
		return "repository"
	}
	return "network"
}

// CheckCredentials reports, without reaching the remote, credentials that do not fit the
// location: a token for SSH, a key for HTTPS, both, a key that does not parse, a key
// without known_hosts.
func (r *Repository) CheckCredentials() error {
	if !r.Remote() {
		return nil
	}
	_, err := r.Credentials.auth(r.Location)
	return err
}
