package s3

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dsbuild/cache"
)

// envOf makes an env function from pairs; HOME points at an empty
// directory unless given, so that no real ~/.aws file is read.
func envOf(t *testing.T, kv ...string) func(string) string {
	t.Helper()
	m := map[string]string{"HOME": t.TempDir()}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, bucket, prefix string
	}{
		{"s3://cas", "cas", ""},
		{"s3://cas/", "cas", ""},
		{"s3://cas/team/ci", "cas", "team/ci"},
		{"s3://cas/team/ci/", "cas", "team/ci"},
		{"s3://my-bucket.example/p", "my-bucket.example", "p"},
		{"s3://cas/with%20space", "cas", "with space"},
		{"s3://cas?region=eu-west-1", "cas", ""},
	} {
		bucket, prefix, _, err := parseURL(tc.url)
		if err != nil || bucket != tc.bucket || prefix != tc.prefix {
			t.Errorf("parseURL(%q) = %q, %q, %v; want %q, %q", tc.url, bucket, prefix, err, tc.bucket, tc.prefix)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://cas/x", `scheme "http" is not s3; want s3://BUCKET`},
		{"cas/x", `scheme "" is not s3`},
		{"s3:///prefix", "no bucket; want s3://BUCKET"},
		{"s3://", "no bucket"},
		{"s3:cas", "want s3://BUCKET"},
		{"s3://key:secret@cas/x", "no user, port or fragment; credentials come from AWS_ACCESS_KEY_ID"},
		{"s3://cas:9000/x", "no user, port or fragment"},
		{"s3://cas/x#frag", "no user, port or fragment"},
		{"s3://cas/x?versioning=on", `unknown query parameter "versioning"; want s3://BUCKET`},
		{"s3://cas/x?region=a&region=b", `"region" must be given once`},
		{"s3://cas/x?region=", `"region" must be given once, with a value`},
		{"s3://cas/a//b", `prefix "a//b" has an empty`},
		{"s3://cas/a/../b", `".." segment`},
		{"s3://cas/a%0Ab", "control character"},
		{"s3://-bad/x", `bucket "-bad"`},
		{"s3://ab/x", `bucket "ab"`},
	} {
		_, _, _, err := parseURL(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseURL(%q): error %v, want one containing %q", tc.url, err, tc.want)
		}
	}
}

func TestEndpointAndRegion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		url      string
		env      []string
		endpoint string // "" for AWS
		region   string
		str      string
	}{
		{"aws", "s3://cas/p", nil, "", "us-east-1", "s3://cas/p"},
		{"default region", "s3://cas", []string{"AWS_DEFAULT_REGION", "eu-north-1"}, "", "eu-north-1", "s3://cas"},
		{"AWS_REGION wins", "s3://cas", []string{"AWS_DEFAULT_REGION", "eu-north-1", "AWS_REGION", "ap-south-1"}, "", "ap-south-1", "s3://cas"},
		{"URL region wins", "s3://cas?region=sa-east-1", []string{"AWS_REGION", "ap-south-1"}, "", "sa-east-1", "s3://cas"},
		{"AWS_ENDPOINT_URL", "s3://cas/p", []string{"AWS_ENDPOINT_URL", "http://127.0.0.1:7070"}, "http://127.0.0.1:7070", "us-east-1", "s3://cas/p at 127.0.0.1:7070"},
		{"AWS_ENDPOINT_URL_S3 wins", "s3://cas/p", []string{"AWS_ENDPOINT_URL", "http://other:1", "AWS_ENDPOINT_URL_S3", "https://s3.example.com/"}, "https://s3.example.com", "us-east-1", "s3://cas/p at s3.example.com"},
		{"URL endpoint wins", "s3://cas/p?endpoint=http://[::1]:9000", []string{"AWS_ENDPOINT_URL_S3", "https://s3.example.com"}, "http://[::1]:9000", "us-east-1", "s3://cas/p at [::1]:9000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envOf(t, tc.env...)
			c, err := loadConfig(tc.url, env)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if c.endpoint != nil {
				got = c.endpoint.String()
			}
			if got != tc.endpoint || c.region != tc.region {
				t.Errorf("endpoint %q, region %q; want %q, %q", got, c.region, tc.endpoint, tc.region)
			}
			r, err := Open(context.Background(), tc.url, env)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.String() != tc.str {
				t.Errorf("String() = %q, want %q", r.String(), tc.str)
			}
		})
	}
}

func TestEndpointErrors(t *testing.T) {
	for _, tc := range []struct{ endpoint, want string }{
		{"127.0.0.1:7070", "AWS_ENDPOINT_URL_S3 \"127.0.0.1:7070\""},
		{"ftp://host", "scheme must be http or https; want http://HOST[:PORT]"},
		{"http://", "no host"},
		{"http://host/bucket", "no path, query or fragment"},
		{"http://host?x=1", "no path, query or fragment"},
		{"http://key:s3cr3t@host:9000", "credentials do not go in the endpoint"},
	} {
		_, err := Open(context.Background(), "s3://cas", envOf(t, "AWS_ENDPOINT_URL_S3", tc.endpoint))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("endpoint %q: error %v, want one containing %q", tc.endpoint, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("endpoint %q: the error shows the secret: %v", tc.endpoint, err)
		}
	}
}

// TestNoSecretsInString: String never shows credentials from any source.
func TestNoSecretsInString(t *testing.T) {
	r, err := Open(context.Background(), "s3://cas/p", envOf(t,
		"AWS_ACCESS_KEY_ID", "AKIDSECRETID", "AWS_SECRET_ACCESS_KEY", "verysecret", "AWS_SESSION_TOKEN", "tokensecret",
		"AWS_ENDPOINT_URL", "http://127.0.0.1:7070"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"AKIDSECRETID", "verysecret", "tokensecret"} {
		if strings.Contains(r.String(), s) || strings.Contains(r.credHint, s) {
			t.Errorf("String %q or hint %q shows %q", r.String(), r.credHint, s)
		}
	}
}

func TestCredentialChain(t *testing.T) {
	dir := t.TempDir()
	credsFile := filepath.Join(dir, "credentials")
	configFile := filepath.Join(dir, "config")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(credsFile, "[default]\naws_access_key_id = file-default\naws_secret_access_key = s1\n\n[team]\naws_access_key_id = file-team\naws_secret_access_key = s2\naws_session_token = tok\n")
	write(configFile, "[profile ci]\naws_access_key_id = config-ci\naws_secret_access_key = s3\n")
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(home, ".aws", "credentials"), "[default]\naws_access_key_id = home-default\naws_secret_access_key = s4\n")

	for _, tc := range []struct {
		name   string
		env    []string
		id     string // "" for anonymous
		token  string
		inHint string
	}{
		{"environment first", []string{"AWS_ACCESS_KEY_ID", "env-id", "AWS_SECRET_ACCESS_KEY", "env-secret", "AWS_SHARED_CREDENTIALS_FILE", credsFile}, "env-id", "", "set in the environment"},
		{"half in the environment falls through", []string{"AWS_ACCESS_KEY_ID", "env-id", "AWS_SHARED_CREDENTIALS_FILE", credsFile}, "file-default", "", `profile "default" of ` + credsFile},
		{"default profile", []string{"AWS_SHARED_CREDENTIALS_FILE", credsFile}, "file-default", "", `profile "default"`},
		{"AWS_PROFILE", []string{"AWS_SHARED_CREDENTIALS_FILE", credsFile, "AWS_PROFILE", "team"}, "file-team", "tok", `profile "team"`},
		{"config file profile", []string{"AWS_SHARED_CREDENTIALS_FILE", credsFile, "AWS_CONFIG_FILE", configFile, "AWS_PROFILE", "ci"}, "config-ci", "", configFile},
		{"HOME's file", []string{"HOME", home}, "home-default", "", filepath.Join(home, ".aws", "credentials")},
		{"nothing: anonymous", []string{"HOME", ""}, "", "", "they are not set and there is no credentials file, so the requests were not signed"},
		{"files that do not exist", []string{"AWS_SHARED_CREDENTIALS_FILE", credsFile + ".absent"}, "", "", "there is no credentials file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig("s3://cas", envOf(t, tc.env...))
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.creds.GetWithContext(nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.AccessKeyID != tc.id || v.SessionToken != tc.token {
				t.Errorf("got key id %q token %q, want %q %q", v.AccessKeyID, v.SessionToken, tc.id, tc.token)
			}
			if !strings.Contains(c.credHint, tc.inHint) || !strings.Contains(c.credHint, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
				t.Errorf("hint %q does not contain %q", c.credHint, tc.inHint)
			}
		})
	}
}

// TestCABundle: an https endpoint whose certificate chains to a CA in
// AWS_CA_BUNDLE is trusted; without the bundle it is not; a bundle that
// is not PEM is an error at Open.
func TestCABundle(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("k")))
	creds := []string{"AWS_ENDPOINT_URL_S3", srv.URL, "AWS_ACCESS_KEY_ID", "id", "AWS_SECRET_ACCESS_KEY", "secret"}

	r, err := Open(context.Background(), "s3://cas", envOf(t, append(creds, "AWS_CA_BUNDLE", bundle)...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetAction(context.Background(), key); !errors.Is(err, cache.ErrRemoteMiss) {
		t.Errorf("with the bundle: %v, want a miss", err)
	}
	r.Close()

	r, err = Open(context.Background(), "s3://cas", envOf(t, creds...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetAction(context.Background(), key); err == nil || errors.Is(err, cache.ErrRemoteMiss) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the bundle: %v, want a certificate error", err)
	}
	r.Close()

	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{notPEM, filepath.Join(dir, "absent.pem")} {
		if _, err := Open(context.Background(), "s3://cas", envOf(t, append(creds, "AWS_CA_BUNDLE", f)...)); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
			t.Errorf("AWS_CA_BUNDLE=%s: %v, want an error naming it", f, err)
		}
	}
}
