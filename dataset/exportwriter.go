package dataset

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dsbuild/cache"
)

// ExportWriter is where an Exporter's Finish puts the export: a
// directory (DirWriter), or a tree of the store that names the blobs it
// holds without reading them (the export step's). Paths are slash paths
// relative to the export's root; a file's directories are implied.
type ExportWriter interface {
	// Create makes the file rel; it is part of the export once closed.
	Create(rel string) (io.WriteCloser, error)
	// WriteBlob puts blob d of the store, size bytes long, at rel.
	WriteBlob(rel string, d cache.Digest, size int64) error
	// Mkdir makes the directory rel, kept even when it stays empty.
	Mkdir(rel string) error
}

// WriteExportFile writes data to the file rel of w.
func WriteExportFile(w ExportWriter, rel string, data []byte) error {
	f, err := w.Create(rel)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DirWriter writes an export into the directory Dir, reading the blobs it
// puts there from Store.
type DirWriter struct {
	Dir   string
	Store Store
}

func (w *DirWriter) path(rel string) string { return filepath.Join(w.Dir, filepath.FromSlash(rel)) }

// Create implements ExportWriter.
func (w *DirWriter) Create(rel string) (io.WriteCloser, error) {
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// WriteBlob implements ExportWriter.
func (w *DirWriter) WriteBlob(rel string, d cache.Digest, size int64) error {
	data, err := w.Store.ReadBlob(d)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if int64(len(data)) != size {
		return fmt.Errorf("%s: blob %s has %d bytes, not %d", rel, d.Short(), len(data), size)
	}
	p := w.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// Mkdir implements ExportWriter.
func (w *DirWriter) Mkdir(rel string) error { return os.MkdirAll(w.path(rel), 0o755) }
