// Package remote opens a dsbuild remote cache by its URL:
//
//	s3://BUCKET[/PREFIX]            an S3 bucket (AWS S3, MinIO, Ceph, R2,
//	                                GCS interop; remote/s3), configured by the
//	                                standard AWS_* variables and files
//	grpc://HOST:PORT[/INSTANCE]     a Bazel remote cache speaking REAPI v2
//	grpcs://HOST:PORT[/INSTANCE]    (bazel-remote, BuildBuddy, NativeLink…;
//	                                remote/reapi), plaintext or TLS
//
// It guarantees that Open either returns a backend that answered, or an
// error that names the remote and says what to fix; credentials never
// appear in messages. What a store does with a remote (verification,
// retries, falling back to local work) is cache.Store's business
// (cache/remote_store.go), not the backends'.
package remote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dsbuild/cache"
	"dsbuild/remote/reapi"
	"dsbuild/remote/s3"
)

// Env names the environment variables that configure a remote.
const (
	EnvURL     = "DSBUILD_REMOTE"         // the remote's URL
	EnvUpload  = "DSBUILD_REMOTE_UPLOAD"  // "false": read-only
	EnvHeaders = "DSBUILD_REMOTE_HEADERS" // REAPI: "Name: value" lines
	EnvCA      = "DSBUILD_REMOTE_CA"      // REAPI over grpcs://: a PEM CA file
)

// Options are what a REAPI remote takes besides its URL.
type Options struct {
	// Headers are sent with every call (header-based auth).
	Headers map[string]string
	// CAFile is a PEM file of CAs for a grpcs:// server.
	CAFile string
}

// ParseHeaders reads "Name: value" or "Name=value" entries, one per line
// (as DSBUILD_REMOTE_HEADERS and --remote-header give them).
func ParseHeaders(lines []string) (map[string]string, error) {
	h := map[string]string{}
	for _, l := range lines {
		for _, line := range strings.Split(l, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			i := strings.IndexAny(line, ":=")
			if i <= 0 {
				return nil, fmt.Errorf("remote header %q: want NAME: VALUE (or NAME=VALUE)", redactHeader(line))
			}
			h[strings.ToLower(strings.TrimSpace(line[:i]))] = strings.TrimSpace(line[i+1:])
		}
	}
	return h, nil
}

func redactHeader(line string) string {
	if i := strings.IndexAny(line, ":= "); i > 0 {
		return line[:i] + "…"
	}
	return "…"
}

// Open connects to the remote at rawURL and checks that it answers with
// the credentials given: an action lookup of a key no one uses must come
// back as a miss. Refused credentials are a *cache.RemoteAuthError; a
// remote that does not answer is an error naming it.
func Open(ctx context.Context, rawURL string, opt Options) (cache.Remote, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("remote %q: %w (want s3://BUCKET/PREFIX, grpc://HOST:PORT or grpcs://HOST:PORT)", redactURL(rawURL), err)
	}
	var r cache.Remote
	switch u.Scheme {
	case "s3":
		r, err = openS3(ctx, rawURL)
	case "grpc", "grpcs":
		r, err = openREAPI(ctx, rawURL, opt)
	default:
		return nil, fmt.Errorf("remote %q: unknown scheme %q: want s3://BUCKET/PREFIX (S3), grpc://HOST:PORT or grpcs://HOST:PORT (a Bazel remote cache)", redactURL(rawURL), u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var probe cache.ActionKey
	copy(probe[:], "dsbuild remote probe: no entry  ")
	if _, err := r.GetAction(pctx, probe); err != nil && !errors.Is(err, cache.ErrRemoteMiss) {
		r.Close()
		var auth *cache.RemoteAuthError
		if errors.As(err, &auth) {
			return nil, err
		}
		return nil, &UnreachableError{Remote: r.String(), Err: err}
	}
	return r, nil
}

// UnreachableError reports a remote that did not answer Open's probe: a
// build can go on without it, a push or pull cannot.
type UnreachableError struct {
	Remote string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("remote %s does not answer: %v", e.Remote, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func openS3(ctx context.Context, rawURL string) (cache.Remote, error) {
	r, err := s3.Open(ctx, rawURL, nil)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func openREAPI(ctx context.Context, rawURL string, opt Options) (cache.Remote, error) {
	r, err := reapi.Open(ctx, rawURL, reapi.Options{Headers: opt.Headers, CAFile: opt.CAFile})
	if err != nil {
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
			return nil, &UnreachableError{Remote: redactURL(rawURL), Err: err}
		}
		return nil, err
	}
	return r, nil
}

// redactURL drops a URL's user information, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.Index(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "…@" + raw[i+1:]
			}
		}
		return raw
	}
	u.User = nil
	return u.String()
}

// FromEnv returns the remote URL, whether uploads are on, and the options
// the environment gives (EnvURL, EnvUpload, EnvHeaders, EnvCA).
func FromEnv(getenv func(string) string) (rawURL string, upload bool, opt Options, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	rawURL = getenv(EnvURL)
	upload = true
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvUpload))); v {
	case "", "1", "true", "yes":
	case "0", "false", "no":
		upload = false
	default:
		return "", false, Options{}, fmt.Errorf("%s=%q: want true or false", EnvUpload, v)
	}
	if h := getenv(EnvHeaders); h != "" {
		if opt.Headers, err = ParseHeaders([]string{h}); err != nil {
			return "", false, Options{}, fmt.Errorf("%s: %w", EnvHeaders, err)
		}
	}
	opt.CAFile = getenv(EnvCA)
	return rawURL, upload, opt, nil
}
