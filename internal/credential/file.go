package credential

// FileStore keeps secrets in a plain YAML file (account -> token), used only
// for accounts logged in with --insecure-storage: being in this file is that
// choice. Accounts are keyed like keyring entries (see AccountKey).
type FileStore struct {
	Path string
}

const fileHeader = "# tokenctl credentials, NOT encrypted: written because of --insecure-storage.\n# Prefer the OS keyring; `tokenctl auth logout` removes entries.\n"

func (f FileStore) file() yamlFile[map[string]string] {
	return yamlFile[map[string]string]{Path: f.Path, Header: fileHeader, Secret: true}
}

// Get returns the account's secret or ErrNotFound.
func (f FileStore) Get(account string) (string, error) {
	m, err := f.file().load()
	if err != nil {
		return "", err
	}
	if s := m[account]; s != "" {
		return s, nil
	}
	return "", ErrNotFound
}

// Has reports whether the account has an entry, without returning it.
func (f FileStore) Has(account string) bool {
	_, err := f.Get(account)
	return err == nil
}

// Set stores secret for the account.
func (f FileStore) Set(account, secret string) error {
	m, err := f.file().load()
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	m[account] = secret
	return f.file().save(m)
}

// Delete removes the account's entry; ErrNotFound when there was none. The
// file is removed when it becomes empty.
func (f FileStore) Delete(account string) error {
	m, err := f.file().load()
	if err != nil {
		return err
	}
	if _, ok := m[account]; !ok {
		return ErrNotFound
	}
	delete(m, account)
	if len(m) == 0 {
		return f.file().remove()
	}
	return f.file().save(m)
}
