package remotetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// S3Server is a versitygw serving the directory DataDir() over S3 on a
// loopback port. Each bucket is a directory of DataDir(); Bucket exists
// when the server starts, and an object key is a file path below it, so a
// test can plant, corrupt or remove objects directly on disk.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string // an empty bucket
	AccessKey string
	SecretKey string
	Region    string

	srv  *server
	data string
}

// StartVersitygw starts versitygw with the posix backend, a fresh data
// directory holding one empty bucket, and root credentials AccessKey and
// SecretKey; it is stopped when the test ends.
func StartVersitygw(t testing.TB) *S3Server {
	t.Helper()
	bin := RequireTool(t, "versitygw")
	base := t.TempDir()
	s := &S3Server{
		Bucket:    "dsbuild",
		AccessKey: "dsbuild",
		SecretKey: "dsbuild-remotetest-secret",
		Region:    "us-east-1",
		data:      filepath.Join(base, "data"),
	}
	if err := os.MkdirAll(filepath.Join(s.data, s.Bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	s.srv = &server{
		t:       t,
		name:    "versitygw",
		bin:     bin,
		env:     []string{"ROOT_ACCESS_KEY=" + s.AccessKey, "ROOT_SECRET_KEY=" + s.SecretKey},
		logPath: filepath.Join(base, "versitygw.log"),
	}
	client := &http.Client{Timeout: 2 * time.Second}
	s.srv.ready = func() error {
		// Any S3 answer (an anonymous request gets 403) means it serves.
		resp, err := client.Get(s.Endpoint + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	launch(t, s.srv, 1, func(ports []int) {
		addr := hostPort(ports[0])
		s.Endpoint = "http://" + addr
		s.srv.args = []string{"--port", addr, "--region", s.Region, "--quiet", "posix", s.data}
	})
	return s
}

// Env returns the standard AWS variables that point an S3 client at the
// server: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
// AWS_ENDPOINT_URL_S3.
func (s *S3Server) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":     s.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s.SecretKey,
		"AWS_REGION":            s.Region,
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
	}
}

// URL returns the dsbuild remote URL s3://BUCKET/PREFIX (s3://BUCKET for
// an empty prefix).
func (s *S3Server) URL(prefix string) string {
	if prefix == "" {
		return "s3://" + s.Bucket
	}
	return "s3://" + s.Bucket + "/" + prefix
}

// DataDir is the server's root: DataDir()/Bucket/KEY is the object KEY.
func (s *S3Server) DataDir() string { return s.data }

// Stop kills the server (SIGKILL, no shutdown) and waits for it to exit.
// Safe to call from any goroutine, and on a stopped server.
func (s *S3Server) Stop() { s.srv.stop() }

// Restart starts the server again on the same port with the same data,
// killing it first if it runs; it fails the test if the server does not
// come back. Call it from the test's goroutine.
func (s *S3Server) Restart() { s.srv.restart() }

// BazelServer is a bazel-remote (a Bazel remote cache: REAPI v2 over gRPC,
// and its HTTP API) on loopback ports.
type BazelServer struct {
	Addr     string // the gRPC address, 127.0.0.1:PORT
	HTTPAddr string // the HTTP address, 127.0.0.1:PORT

	// With WithBasicAuth: the one user the server accepts.
	User, Password string
	// With WithTLS: the PEM certificate the server presents, for
	// 127.0.0.1; it is its own CA, so clients trust this file.
	CAFile string

	srv  *server
	data string
}

// A BazelOption configures StartBazelRemote.
type BazelOption func(*bazelConfig)

type bazelConfig struct {
	user, password string
	tls            bool
}

// WithBasicAuth makes the server require HTTP basic authentication as
// user with password (bazel-remote's --htpasswd_file), on gRPC as well:
// a client sends `authorization: Basic base64(user:pass)` metadata, or
// grpc://user:pass@host:port as Bazel does.
func WithBasicAuth(user, password string) BazelOption {
	return func(c *bazelConfig) { c.user, c.password = user, password }
}

// WithTLS makes the server speak TLS on both ports with a self-signed
// certificate for 127.0.0.1, written to BazelServer.CAFile.
func WithTLS() BazelOption {
	return func(c *bazelConfig) { c.tls = true }
}

// StartBazelRemote starts bazel-remote with a fresh data directory (at
// most 4 GiB before it evicts) and the options given; it is stopped when
// the test ends.
func StartBazelRemote(t testing.TB, opts ...BazelOption) *BazelServer {
	t.Helper()
	var cfg bazelConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin := RequireTool(t, "bazel-remote")
	base := t.TempDir()
	b := &BazelServer{data: filepath.Join(base, "data")}
	if err := os.MkdirAll(b.data, 0o755); err != nil {
		t.Fatal(err)
	}
	fixed := []string{"--dir", b.data, "--max_size", "4"}
	if cfg.user != "" || cfg.password != "" {
		b.User, b.Password = cfg.user, cfg.password
		htpasswd := filepath.Join(base, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(htpasswdLine(cfg.user, cfg.password)), 0o644); err != nil {
			t.Fatal(err)
		}
		fixed = append(fixed, "--htpasswd_file", htpasswd)
	}
	if cfg.tls {
		cert, key, err := selfSignedCert(base)
		if err != nil {
			t.Fatalf("bazel-remote with TLS: %v", err)
		}
		b.CAFile = cert
		fixed = append(fixed, "--tls_cert_file", cert, "--tls_key_file", key)
	}
	b.srv = &server{
		t:       t,
		name:    "bazel-remote",
		bin:     bin,
		logPath: filepath.Join(base, "bazel-remote.log"),
	}
	b.srv.ready = func() error {
		if err := dialable(b.Addr); err != nil {
			return err
		}
		return dialable(b.HTTPAddr)
	}
	launch(t, b.srv, 2, func(ports []int) {
		b.Addr, b.HTTPAddr = hostPort(ports[0]), hostPort(ports[1])
		b.srv.args = append([]string{"--grpc_address", b.Addr, "--http_address", b.HTTPAddr}, fixed...)
	})
	return b
}

// URL returns the dsbuild remote URL of the server: grpc://127.0.0.1:PORT,
// or grpcs:// with WithTLS. It carries no credentials.
func (b *BazelServer) URL() string {
	if b.CAFile != "" {
		return "grpcs://" + b.Addr
	}
	return "grpc://" + b.Addr
}

// DataDir is bazel-remote's --dir (blobs under cas.v2/, entries under ac.v2/).
func (b *BazelServer) DataDir() string { return b.data }

// Stop kills the server (SIGKILL, no shutdown) and waits for it to exit.
// Safe to call from any goroutine, and on a stopped server.
func (b *BazelServer) Stop() { b.srv.stop() }

// Restart starts the server again on the same ports with the same data and
// options, killing it first if it runs; it fails the test if the server
// does not come back. Call it from the test's goroutine.
func (b *BazelServer) Restart() { b.srv.restart() }

// htpasswdLine is one htpasswd entry in the {SHA} scheme (base64 of the
// password's SHA-1), which bazel-remote's htpasswd reader
// (github.com/abbot/go-http-auth) accepts besides bcrypt and MD5-crypt.
// SHA-1 is weak, but this is a throwaway test password.
func htpasswdLine(user, password string) string {
	sum := sha1.Sum([]byte(password))
	return user + ":{SHA}" + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
}

// selfSignedCert writes a fresh ECDSA key and a self-signed certificate
// for 127.0.0.1 (and localhost), valid for a day, into dir.
func selfSignedCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "dsbuild remotetest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("creating the certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
