package nexus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client calls one Nexus's REST API as a user.
type Client struct {
	// BaseURL is Nexus's address, such as http://nexus.registry.svc:8081.
	BaseURL string
	// User and Password authenticate every call (Nexus's admin).
	User, Password string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is a call Nexus answered with an unexpected status.
type APIError struct {
	Method, Path string
	Status       int
	// Body is the start of Nexus's answer.
	Body string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	switch {
	case e.Status == http.StatusUnauthorized:
		msg += ": Nexus refused the credentials; check the admin password (the Secret nexus-admin, passed to Nexus at its first start)"
	case e.Status == http.StatusForbidden:
		msg += ": the user may not do this; provisioning needs Nexus's admin"
	case e.Status >= 500:
		msg += ": Nexus failed; see its log (/nexus-data/log/nexus.log)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// IsNotFound says whether err is Nexus answering 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// call sends a request with in (when not nil) as its JSON body and decodes a JSON answer
// into out (when not nil). A status outside 2xx is an *APIError.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	return c.send(ctx, method, path, "application/json", body, out)
}

// send sends a request with a body of a content type and decodes a JSON answer into out.
func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.User, c.Password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: excerpt(data)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}

// excerpt is the start of an answer, on one line.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// escape escapes a path segment.
func escape(s string) string { return url.PathEscape(s) }
