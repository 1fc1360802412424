//go:build !cu

package gpu

import (
	"errors"

	"dsbuild/model"
)

// Backend names the runner behind NewEngine: the cgo-free driver binding.
const Backend = "purego"

// engine is a Runner that owns its Device.
type engine struct{ *Runner }

func newEngine(f *model.Folded, batch int) (Engine, error) {
	dev, err := Open()
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(dev, f, batch)
	if err != nil {
		return nil, errors.Join(err, dev.Close())
	}
	return engine{r}, nil
}

func (e engine) DeviceName() string { return e.dev.Name() }

func (e engine) Close() error { return errors.Join(e.Runner.Close(), e.dev.Close()) }
