package credential

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/tokenctl/tokenctl/internal/atomicfile"

	"go.yaml.in/yaml/v3"
)

// yamlFile is the one implementation behind credentials.yaml and
// state.yaml: a small YAML document with a comment header, private (0600 in
// a 0700 directory) and always replaced atomically.
type yamlFile[T any] struct {
	Path   string
	Header string
	// Secret files are never quoted in errors: their content is secrets.
	Secret bool
}

// load returns the document, or T's zero value when the file does not exist.
func (y yamlFile[T]) load() (T, error) {
	var v T
	data, err := os.ReadFile(y.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", y.Path, err)
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		var zero T
		if y.Secret {
			return zero, fmt.Errorf("%s is not valid YAML: fix or delete it", y.Path)
		}
		return zero, fmt.Errorf("%s: %w", y.Path, err)
	}
	return v, nil
}

func (y yamlFile[T]) save(v T) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", y.Path, err)
	}
	return atomicfile.Write(y.Path, append([]byte(y.Header), data...), 0o600)
}

// remove deletes the file; a file that is already gone is fine.
func (y yamlFile[T]) remove() error {
	if err := os.Remove(y.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", y.Path, err)
	}
	return nil
}
