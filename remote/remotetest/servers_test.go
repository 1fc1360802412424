package remotetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestFindToolPrefersToolsBin(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "no-such-server")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvToolsBin, dir)
	if p, ok := FindTool("no-such-server"); !ok || p != fake {
		t.Fatalf("FindTool = %q, %v; want %q, true", p, ok, fake)
	}
	// Not executable: not a tool.
	if err := os.Chmod(fake, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, ok := FindTool("no-such-server"); ok {
		t.Fatalf("FindTool found a non-executable file: %q", p)
	}
}

func TestRepoRootIsTheDsbuildModule(t *testing.T) {
	root, ok := repoRoot()
	if !ok {
		t.Fatal("repoRoot found no go.mod declaring module dsbuild")
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "build.sh")); err != nil {
		t.Fatalf("repoRoot = %s, which has no tools/build.sh: %v", root, err)
	}
	dir := t.TempDir()
	for mod, want := range map[string]bool{
		"module dsbuild\n\ngo 1.26\n":       true,
		"// x\nmodule \"dsbuild\"\n":        true,
		"module dsbuild/tools\n\ngo 1.26\n": false,
		"module example.com/dsbuild\n":      false,
		"go 1.26\n":                         false,
	} {
		p := filepath.Join(dir, "go.mod")
		if err := os.WriteFile(p, []byte(mod), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := isDsbuildModule(p); got != want {
			t.Errorf("isDsbuildModule(%q) = %v, want %v", mod, got, want)
		}
	}
}

func TestMissingServerSkipsOnlyOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(EnvToolsBin, "")
	if !skipMissing() {
		t.Error("without CI and DSBUILD_TOOLS_BIN a missing server must skip")
	}
	t.Setenv("CI", "true")
	if skipMissing() {
		t.Error("with CI set a missing server must fail, not skip")
	}
	t.Setenv("CI", "")
	t.Setenv(EnvToolsBin, t.TempDir())
	if skipMissing() {
		t.Error("with DSBUILD_TOOLS_BIN set a missing server must fail, not skip")
	}
}

func TestVersitygwAnswersS3(t *testing.T) {
	s := StartVersitygw(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("Endpoint = %q", s.Endpoint)
	}
	if got := s.URL("team/cache"); got != "s3://dsbuild/team/cache" {
		t.Errorf("URL = %q", got)
	}
	env := s.Env()
	if env["AWS_ENDPOINT_URL_S3"] != s.Endpoint || env["AWS_ACCESS_KEY_ID"] != s.AccessKey ||
		env["AWS_SECRET_ACCESS_KEY"] != s.SecretKey || env["AWS_REGION"] != "us-east-1" {
		t.Errorf("Env = %v", env)
	}
	ctx := context.Background()
	client := func() *minio.Client {
		c, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{
			Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
			Region: s.Region,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}()
	body := []byte("hello from remotetest")
	if _, err := client.PutObject(ctx, s.Bucket, "a/b", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	readBack := func() []byte {
		t.Helper()
		o, err := client.GetObject(ctx, s.Bucket, "a/b", minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		defer o.Close()
		got, err := io.ReadAll(o)
		if err != nil {
			t.Fatalf("reading the object: %v", err)
		}
		return got
	}
	if got := readBack(); !bytes.Equal(got, body) {
		t.Fatalf("GetObject = %q, want %q", got, body)
	}
	// The object is a file under DataDir()/Bucket.
	if got, err := os.ReadFile(filepath.Join(s.DataDir(), s.Bucket, "a", "b")); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("object on disk = %q, %v", got, err)
	}

	// Killed, it refuses connections; restarted, it serves the same data.
	s.Stop()
	s.Stop() // a second Stop does nothing
	if err := dialable(strings.TrimPrefix(s.Endpoint, "http://")); err == nil {
		t.Fatal("a stopped server accepts connections")
	}
	s.Restart()
	if got := readBack(); !bytes.Equal(got, body) {
		t.Fatalf("after Restart, GetObject = %q, want %q", got, body)
	}
}

// capabilities calls REAPI GetCapabilities on the server at addr.
func capabilities(t *testing.T, addr string, opts ...grpc.DialOption) (*repb.ServerCapabilities, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return repb.NewCapabilitiesClient(conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{})
}

func TestBazelRemoteAnswersREAPI(t *testing.T) {
	b := StartBazelRemote(t)
	if !strings.HasPrefix(b.URL(), "grpc://127.0.0.1:") || b.URL() != "grpc://"+b.Addr {
		t.Fatalf("URL = %q, Addr = %q", b.URL(), b.Addr)
	}
	plain := grpc.WithTransportCredentials(insecure.NewCredentials())
	caps, err := capabilities(t, b.Addr, plain)
	if err != nil {
		t.Fatalf("GetCapabilities: %v", err)
	}
	fns := caps.GetCacheCapabilities().GetDigestFunctions()
	if len(fns) == 0 || fns[0] != repb.DigestFunction_SHA256 {
		t.Errorf("digest functions = %v, want SHA256", fns)
	}

	b.Stop()
	if _, err := capabilities(t, b.Addr, plain); status.Code(err) != codes.Unavailable {
		t.Fatalf("GetCapabilities on a stopped server: %v, want Unavailable", err)
	}
	b.Restart()
	if _, err := capabilities(t, b.Addr, plain); err != nil {
		t.Fatalf("GetCapabilities after Restart: %v", err)
	}
}

// basicAuth sends HTTP basic credentials as gRPC metadata.
type basicAuth struct{ user, pass string }

func (a basicAuth) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.pass))}, nil
}
func (basicAuth) RequireTransportSecurity() bool { return false }

func TestBazelRemoteBasicAuthAndTLS(t *testing.T) {
	b := StartBazelRemote(t, WithBasicAuth("alice", "s3cret pass"), WithTLS())
	if b.User != "alice" || b.Password != "s3cret pass" || b.CAFile == "" {
		t.Fatalf("User, Password, CAFile = %q, %q, %q", b.User, b.Password, b.CAFile)
	}
	if !strings.HasPrefix(b.URL(), "grpcs://127.0.0.1:") {
		t.Fatalf("URL = %q, want grpcs://", b.URL())
	}
	tlsCreds, err := grpccreds.NewClientTLSFromFile(b.CAFile, "")
	if err != nil {
		t.Fatal(err)
	}
	secure := grpc.WithTransportCredentials(tlsCreds)
	if _, err := capabilities(t, b.Addr, secure, grpc.WithPerRPCCredentials(basicAuth{"alice", "s3cret pass"})); err != nil {
		t.Fatalf("GetCapabilities with the right credentials over TLS: %v", err)
	}
	if _, err := capabilities(t, b.Addr, secure, grpc.WithPerRPCCredentials(basicAuth{"alice", "wrong"})); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetCapabilities with a wrong password: %v, want Unauthenticated", err)
	}
	if _, err := capabilities(t, b.Addr, secure); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetCapabilities without credentials: %v, want Unauthenticated", err)
	}
	// Plaintext to a TLS server fails.
	if _, err := capabilities(t, b.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(basicAuth{"alice", "s3cret pass"})); err == nil {
		t.Fatal("GetCapabilities in plaintext succeeded against a TLS server")
	}
}

func TestServerStartReportsWhyItFailed(t *testing.T) {
	dir := t.TempDir()
	sh := func(script string) *server {
		return &server{t: t, name: "fake", bin: "/bin/sh", args: []string{"-c", script},
			logPath: filepath.Join(dir, "fake.log"), ready: func() error { return errors.New("not yet") },
			timeout: 300 * time.Millisecond}
	}
	err := sh("echo boom >&2; exit 3").start()
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a server that exits: %v; want its exit and its output", err)
	}
	err = sh("echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1").start()
	if !errors.Is(err, errPortTaken) {
		t.Errorf("a server whose port was taken: %v; want errPortTaken (launch retries on new ports)", err)
	}
	s := sh("echo waiting; exec sleep 30")
	err = s.start()
	if err == nil || !strings.Contains(err.Error(), "did not get ready within 300ms") || !strings.Contains(err.Error(), "waiting") {
		t.Errorf("a server that never gets ready: %v; want a timeout with its output", err)
	}
	if s.cmd != nil {
		t.Error("a server that never got ready was left running")
	}
}
