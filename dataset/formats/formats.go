// Package formats is the table of dataset formats: which names the import
// and export steps (and dsbuild convert) accept, and their readers and
// writers, each in its own package under dataset/.
package formats

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"dsbuild/cache"
	"dsbuild/dataset"
	"dsbuild/dataset/cityscapes"
	"dsbuild/dataset/coco"
	"dsbuild/dataset/images"
	"dsbuild/dataset/mapillary"
	"dsbuild/dataset/masks"
	"dsbuild/dataset/supervisely"
	"dsbuild/dataset/synthetic"
	"dsbuild/dataset/voc"
)

type (
	importerFunc func(dataset.Options) (dataset.Importer, error)
	exporterFunc func(dataset.Options) (dataset.Exporter, error)
)

var importers = map[string]importerFunc{
	"cityscapes":       cityscapes.NewImporter,
	"coco":             coco.NewImporter,
	"images":           images.NewImporter,
	"mapillary_vistas": mapillary.NewImporter,
	"masks":            masks.NewImporter,
	"pascal_voc":       voc.NewImporter,
	"supervisely":      supervisely.NewImporter,
	"synthetic":        synthetic.NewImporter,
}

var exporters = map[string]exporterFunc{
	"coco":        coco.NewExporter,
	"masks":       masks.NewExporter,
	"pascal_voc":  voc.NewExporter,
	"supervisely": supervisely.NewExporter,
}

// NeedsPath reports whether a format reads a source directory (all but
// synthetic).
func NeedsPath(format string) bool { return format != "synthetic" }

// Importer returns the reader of format, configured by opt.
func Importer(format string, opt dataset.Options) (dataset.Importer, error) {
	f, ok := importers[format]
	if !ok {
		return nil, fmt.Errorf("unknown import format %q; the formats are %s", format, strings.Join(ImportNames(), ", "))
	}
	o := dataset.Options{}
	for k, v := range opt {
		o[k] = v
	}
	return f(o)
}

// Exporter returns the writer of format, configured by opt.
func Exporter(format string, opt dataset.Options) (dataset.Exporter, error) {
	f, ok := exporters[format]
	if !ok {
		return nil, fmt.Errorf("unknown export format %q; the formats are %s", format, strings.Join(ExportNames(), ", "))
	}
	o := dataset.Options{}
	for k, v := range opt {
		o[k] = v
	}
	return f(o)
}

// ImportNames lists the import formats, sorted.
func ImportNames() []string { return names(importers) }

// ExportNames lists the export formats, sorted.
func ExportNames() []string { return names(exporters) }

func names[F any](m map[string]F) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Export writes ds in format into dir (existing and empty): the export
// step's work, and dsbuild convert's.
func Export(ctx context.Context, s *cache.Store, ds *dataset.Dataset, format string, opt dataset.Options, dir string) error {
	exp, err := Exporter(format, opt)
	if err != nil {
		return err
	}
	if err := dataset.ExportTo(ctx, exp, ds, s, dir); err != nil {
		return fmt.Errorf("exporting as %s: %w", format, err)
	}
	return nil
}
