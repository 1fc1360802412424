package remotetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"dsbuild/cache"
)

func TestMemoryConforms(t *testing.T) {
	m := Memory()
	Run(t, func(*testing.T) cache.Remote { return m })
}

// memBlob puts data on m and returns its ref.
func putBytes(t *testing.T, m *MemRemote, data []byte) cache.Ref {
	t.Helper()
	ref := cache.Ref{Digest: cache.Sum(data), Size: int64(len(data))}
	if err := m.Put(context.Background(), ref, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return ref
}

// get reads ref from m.
func get(m *MemRemote, ref cache.Ref) ([]byte, error) {
	rc, err := m.Get(context.Background(), ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func held(t *testing.T, m *MemRemote, ref cache.Ref) bool {
	t.Helper()
	missing, err := m.Missing(context.Background(), []cache.Ref{ref})
	if err != nil {
		t.Fatalf("Missing: %v", err)
	}
	return len(missing) == 0
}

func TestMemoryCorruptTruncateDelete(t *testing.T) {
	m := Memory()
	data := []byte("0123456789")
	ref := putBytes(t, m, data)

	if !m.Corrupt(ref.Digest) {
		t.Fatal("Corrupt of a held blob reported it absent")
	}
	got, err := get(m, ref)
	if err != nil || len(got) != len(data) || bytes.Equal(got, data) {
		t.Fatalf("after Corrupt, Get = %q, %v; want %d bytes, not the original", got, err, len(data))
	}
	diffs := 0
	for i := range got {
		if got[i] != data[i] {
			diffs++
		}
	}
	if diffs != 1 || !held(t, m, ref) {
		t.Fatalf("after Corrupt: %d bytes differ (want 1), held = %v (want true)", diffs, held(t, m, ref))
	}

	// A blob put again keeps the stored (corrupt) bytes: first writer wins.
	if err := m.Put(context.Background(), ref, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if again, _ := get(m, ref); !bytes.Equal(again, got) {
		t.Fatalf("a second Put replaced the stored bytes: %q", again)
	}

	ref2 := putBytes(t, m, []byte("abcdefgh"))
	if !m.Truncate(ref2.Digest) {
		t.Fatal("Truncate of a held blob reported it absent")
	}
	if got, err := get(m, ref2); err != nil || string(got) != "abcd" || !held(t, m, ref2) {
		t.Fatalf("after Truncate, Get = %q, %v, held = %v; want \"abcd\", held", got, err, held(t, m, ref2))
	}

	if !m.Delete(ref.Digest) || m.Delete(ref.Digest) {
		t.Fatal("Delete: want true for a held blob, then false")
	}
	if _, err := get(m, ref); !errors.Is(err, cache.ErrRemoteMiss) || held(t, m, ref) {
		t.Fatalf("after Delete, Get: %v (want a miss), held = %v", err, held(t, m, ref))
	}

	absent := cache.Sum([]byte("never put"))
	if m.Corrupt(absent) || m.Truncate(absent) || m.Delete(absent) {
		t.Fatal("a knob reported an absent blob held")
	}
	empty := putBytes(t, m, nil)
	if m.Truncate(empty.Digest) {
		t.Fatal("Truncate of the empty blob reported a change")
	}
	if !m.Corrupt(empty.Digest) {
		t.Fatal("Corrupt of the empty blob reported it absent")
	}
	if got, _ := get(m, empty); len(got) != 1 {
		t.Fatalf("a corrupted empty blob reads %q; want one byte", got)
	}
}

func TestMemoryPlantAndHas(t *testing.T) {
	m := Memory()
	ref := cache.Ref{Digest: cache.Sum([]byte("real")), Size: 4}
	if m.Has(ref) {
		t.Fatal("Has of an empty remote")
	}
	m.Plant(ref, []byte("fake!"))
	if got, err := get(m, ref); err != nil || string(got) != "fake!" || !m.Has(ref) {
		t.Fatalf("a planted blob reads %q, %v; Has = %v", got, err, m.Has(ref))
	}
}

func TestMemoryPutChecksWhatItIsGiven(t *testing.T) {
	m := Memory()
	data := []byte("some bytes")
	ref := cache.Ref{Digest: cache.Sum(data), Size: int64(len(data))}
	for name, r := range map[string]io.Reader{
		"other bytes": bytes.NewReader([]byte("Some bytes")),
		"too short":   bytes.NewReader(data[:5]),
		"too long":    bytes.NewReader(append(data, '!')),
		"failing":     io.MultiReader(bytes.NewReader(data[:3]), &failingReader{err: errReaderBroke}),
	} {
		if err := m.Put(context.Background(), ref, r); err == nil {
			t.Errorf("Put of %s succeeded", name)
		}
		if m.Has(ref) {
			t.Fatalf("Put of %s stored the blob", name)
		}
	}
}

func TestMemoryDown(t *testing.T) {
	m := Memory()
	ref := putBytes(t, m, bytes.Repeat([]byte("x"), 1000))
	key := cache.ActionKey(cache.Sum([]byte("key")))
	if err := m.PutAction(context.Background(), key, []cache.RemoteOutput{{Name: "out", Ref: ref}}); err != nil {
		t.Fatal(err)
	}
	rc, err := m.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}

	m.SetDown(true)
	ctx := context.Background()
	calls := map[string]error{}
	_, calls[OpMissing] = m.Missing(ctx, []cache.Ref{ref})
	calls[OpPut] = m.Put(ctx, ref, bytes.NewReader(nil))
	_, calls[OpGet] = m.Get(ctx, ref)
	_, calls[OpGetAction] = m.GetAction(ctx, key)
	calls[OpPutAction] = m.PutAction(ctx, key, nil)
	_, calls["a read of a blob opened before"] = rc.Read(make([]byte, 10))
	for op, err := range calls {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s on a remote that is down: %v; want a connection refused error", op, err)
		}
	}

	m.SetDown(false)
	if got, err := get(m, ref); err != nil || len(got) != 1000 {
		t.Fatalf("Get after SetDown(false): %d bytes, %v", len(got), err)
	}
	if _, err := m.GetAction(ctx, key); err != nil {
		t.Fatalf("GetAction after SetDown(false): %v", err)
	}
}

func TestMemoryDelay(t *testing.T) {
	m := Memory()
	ref := putBytes(t, m, []byte("slow"))
	m.SetDelay(50 * time.Millisecond)
	start := time.Now()
	if _, err := get(m, ref); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("Get took %v with a delay of 50ms", d)
	}
	m.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := m.Missing(ctx, []cache.Ref{ref})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("Missing with a 20ms deadline and an hour's delay: %v after %v", err, time.Since(start))
	}
}

func TestMemoryBeforeCallFailsTheNthCall(t *testing.T) {
	m := Memory()
	errInjected := errors.New("injected")
	var ops []string
	m.BeforeCall(func(op string) error {
		ops = append(ops, op)
		if len(ops) == 3 {
			return errInjected
		}
		return nil
	})
	ctx := context.Background()
	ref := putBytes(t, m, []byte("a"))                          // call 1
	if _, err := m.Missing(ctx, []cache.Ref{ref}); err != nil { // call 2
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, ref); !errors.Is(err, errInjected) { // call 3
		t.Fatalf("the third call: %v; want the injected error", err)
	}
	if _, err := m.GetAction(ctx, cache.ActionKey{}); !errors.Is(err, cache.ErrRemoteMiss) { // call 4
		t.Fatalf("the fourth call: %v; want a plain miss", err)
	}
	if want := []string{OpPut, OpMissing, OpGet, OpGetAction}; !slices.Equal(ops, want) {
		t.Fatalf("the hook saw %v; want %v", ops, want)
	}
	m.BeforeCall(nil)
	if _, err := get(m, ref); err != nil {
		t.Fatalf("Get without the hook: %v", err)
	}
}

func TestMemoryStats(t *testing.T) {
	m := Memory()
	ctx := context.Background()
	a := putBytes(t, m, []byte("12345"))
	putBytes(t, m, []byte("12345")) // held already: no bytes stored
	b := putBytes(t, m, []byte("1234567"))
	if _, err := m.Missing(ctx, []cache.Ref{a, b}); err != nil {
		t.Fatal(err)
	}
	if got, err := get(m, a); err != nil || len(got) != 5 {
		t.Fatal(got, err)
	}
	if _, err := m.Get(ctx, cache.Ref{Digest: cache.Sum([]byte("absent")), Size: 6}); !errors.Is(err, cache.ErrRemoteMiss) {
		t.Fatal(err)
	}
	key := cache.ActionKey(cache.Sum([]byte("k")))
	if err := m.PutAction(ctx, key, []cache.RemoteOutput{{Name: "o", Ref: a}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetAction(ctx, key); err != nil {
		t.Fatal(err)
	}
	want := MemStats{Gets: 2, Puts: 3, MissingCalls: 1, GetBytes: 5, PutBytes: 12, ActionGets: 1, ActionPuts: 1}
	if got := m.Stats(); got != want {
		t.Fatalf("Stats = %+v\nwant    %+v", got, want)
	}
}

func TestMemoryActionEntriesAreCopies(t *testing.T) {
	m := Memory()
	ctx := context.Background()
	a := putBytes(t, m, []byte("a"))
	key := cache.ActionKey(cache.Sum([]byte("k")))
	outs := []cache.RemoteOutput{{Name: "z", Ref: a}, {Name: "a", Ref: a}}
	if err := m.PutAction(ctx, key, outs); err != nil {
		t.Fatal(err)
	}
	outs[0].Name = "changed by the caller"
	got, err := m.GetAction(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if want := []cache.RemoteOutput{{Name: "a", Ref: a}, {Name: "z", Ref: a}}; !slices.Equal(got, want) {
		t.Fatalf("GetAction = %v; want %v", got, want)
	}
	got[0].Name = "changed by the reader"
	if again, _ := m.GetAction(ctx, key); again[0].Name != "a" {
		t.Fatalf("a reader's change reached the stored entry: %v", again)
	}
	for _, bad := range [][]cache.RemoteOutput{{{Name: "", Ref: a}}, {{Name: "x", Ref: a}, {Name: "x", Ref: a}}} {
		if err := m.PutAction(ctx, key, bad); err == nil {
			t.Errorf("PutAction of %v succeeded", bad)
		}
	}
}
