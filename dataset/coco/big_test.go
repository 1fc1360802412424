package coco

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/internal/importtest"
)

// The big tests import a generated instances file of 10,000 images and
// about 100 MB, checking that memory stays bounded. They take tens of
// seconds, so they run only with DSBUILD_COCO_BIG=1:
//
//	DSBUILD_COCO_BIG=1 go test ./dataset/coco/ -run TestBig -v
//
// Run one at a time (-run TestBigDir or -run TestBigTree) for a clean peak
// RSS, which is read from /proc/self/status (VmHWM) on Linux.

func bigEnabled(t *testing.T) {
	if os.Getenv("DSBUILD_COCO_BIG") == "" {
		t.Skip("set DSBUILD_COCO_BIG=1 to import a 100 MB instances file")
	}
}

// writeBig writes dir/annotations/instances_big.json with n images of
// 640×480 and 7 annotations each (polygons of 100 points, one crowd RLE
// every tenth image), and an empty file per image. It streams, so that
// writing takes no memory to speak of.
func writeBig(t *testing.T, dir string, n int) int64 {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "annotations"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "annotations", "instances_big.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	w.WriteString(`{"info":{"description":"big"},"images":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			w.WriteByte(',')
		}
		name := fmt.Sprintf("%012d.jpg", i)
		fmt.Fprintf(w, `{"id":%d,"file_name":%q,"width":640,"height":480,"license":1}`, i, name)
		if err := os.WriteFile(filepath.Join(dir, "big", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.WriteString(`],"annotations":[`)
	id := 0
	for i := 1; i <= n; i++ {
		for k := 0; k < 7; k++ {
			id++
			if id > 1 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, `{"id":%d,"image_id":%d,"category_id":%d,"iscrowd":`, id, i, 1+k%3)
			if k == 0 && i%10 == 0 {
				// A crowd: a 100×100 box as an uncompressed RLE.
				w.WriteString(`1,"segmentation":{"size":[480,640],"counts":[`)
				x0, y0 := rng.IntN(500), rng.IntN(350)
				w.WriteString(strconv.Itoa(x0*480 + y0))
				for c := 0; c < 100; c++ {
					gap := 380
					if c == 99 {
						gap = 640*480 - (x0+100)*480 + 480 - y0 - 100
					}
					fmt.Fprintf(w, ",100,%d", gap)
				}
				w.WriteString(`]},"area":10000,"bbox":[0,0,100,100]}`)
				continue
			}
			w.WriteString(`0,"segmentation":[[`)
			cx, cy := 100+rng.Float64()*440, 100+rng.Float64()*280
			for v := 0; v < 100; v++ {
				if v > 0 {
					w.WriteByte(',')
				}
				a := float64(v) / 100 * 2 * 3.14159
				r := 20 + rng.Float64()*60
				fmt.Fprintf(w, "%.2f,%.2f", cx+r*cosApprox(a), cy+r*cosApprox(a-1.5708))
			}
			w.WriteString(`]],"area":1234.5,"bbox":[1,2,3,4]}`)
		}
	}
	w.WriteString(`],"categories":[{"id":1,"name":"person"},{"id":2,"name":"car"},{"id":3,"name":"dog"}]}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	return st.Size()
}

// cosApprox avoids importing math for one function in a test helper.
func cosApprox(x float64) float64 {
	for x > 3.14159 {
		x -= 2 * 3.14159
	}
	for x < -3.14159 {
		x += 2 * 3.14159
	}
	x2 := x * x
	return 1 - x2/2 + x2*x2/24 - x2*x2*x2/720 + x2*x2*x2*x2/40320
}

// dirSource is a Source over a directory on disk.
type dirSource struct{ fs.FS }

func (d dirSource) Digest(name string) (cache.Digest, int64, error) {
	b, err := fs.ReadFile(d.FS, name)
	return cache.Sum(b), int64(len(b)), err
}

// peakHeap samples the heap in use until stop is called.
func peakHeap() (stop func() uint64) {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

// importBig imports the big file and checks the peak heap against limit
// (0: no check).
func importBig(t *testing.T, src dataset.Source, size int64, limit uint64) {
	im, err := NewImporter(dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	stop := peakHeap()
	start := time.Now()
	items, objects := 0, 0
	var encoded int64
	_, err = im.Import(context.Background(), src, func(it *dataset.SourceItem) error {
		if it.Err != nil {
			return it.Err
		}
		items++
		objects += len(it.Ann.Objects)
		b, err := dataset.EncodeAnnotation(it.Ann)
		encoded += int64(len(b))
		return err
	})
	elapsed := time.Since(start)
	peak := stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MB of JSON: %d items, %d objects (%d MB canonical) in %v; peak heap in use %d MB; peak RSS of the test process %s",
		size>>20, items, objects, encoded>>20, elapsed.Round(time.Millisecond), peak>>20, vmHWM())
	if items != 10000 || objects != 70000 {
		t.Errorf("%d items, %d objects; want 10000, 70000", items, objects)
	}
	if limit > 0 && peak > limit {
		t.Errorf("peak heap %d MB exceeds %d MB", peak>>20, limit>>20)
	}
}

// TestBigDir imports from a directory on disk: the importer's own memory.
func TestBigDir(t *testing.T) {
	bigEnabled(t)
	dir := t.TempDir()
	size := writeBig(t, dir, 10000)
	t.Logf("after writing: peak RSS %s", vmHWM())
	importBig(t, dirSource{os.DirFS(dir)}, size, 150<<20)
}

// TestBigTree imports from a stored tree. cache.TreeFS reads and
// decompresses the whole blob when the file is opened, which alone costs
// several times the file's size; the test reports it and does not check a
// bound.
func TestBigTree(t *testing.T) {
	bigEnabled(t)
	dir := t.TempDir()
	size := writeBig(t, dir, 10000)
	_, src := importtest.StoreDir(t, dir)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("after storing: peak RSS %s, heap in use %d MB", vmHWM(), ms.HeapInuse>>20)
	// What the source costs alone: opening the file reads the whole blob.
	stop := peakHeap()
	f, err := src.Open("annotations/instances_big.json")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, f)
	f.Close()
	t.Logf("reading the %d MB file through the tree alone: peak heap in use %d MB (%v)", n>>20, stop()>>20, err)
	runtime.GC()
	importBig(t, src, size, 0)
}
