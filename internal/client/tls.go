package client

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadCAFile returns the system's trusted CAs plus the certificates in
// path (PEM), for a server whose certificate a private CA signed.
func LoadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: a certificate in it cannot be read: %v", path, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate (want -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// TLSError is a server certificate the client does not accept. It is never
// retried, and it is not "cannot reach": the server answered, and the fix
// is on this side (a CA file) or the server's (its certificate).
type TLSError struct {
	Host   string
	CAFile string // the CA file in use, if any
	Err    error
}

func (e *TLSError) Error() string {
	var (
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
	)
	switch {
	case errors.As(e.Err, &name):
		return fmt.Sprintf("TLS certificate of %s is not valid for that name (%v): use the host name the certificate was issued for", e.Host, e.Err)
	case errors.As(e.Err, &unknown) && e.CAFile != "":
		return fmt.Sprintf("TLS certificate of %s is not trusted (%v): it was not signed by a CA in %s (--ca-file)", e.Host, e.Err, e.CAFile)
	case errors.As(e.Err, &unknown):
		return fmt.Sprintf("TLS certificate of %s is not trusted (%v): if the server uses a private CA, pass --ca-file PATH (or set TOKENCTL_CA_FILE or `tokenctl config set ca_file PATH`)", e.Host, e.Err)
	}
	return fmt.Sprintf("TLS certificate of %s was refused (%v)", e.Host, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// tlsError turns a certificate failure into a *TLSError, or returns nil.
func (c *Client) tlsError(err error) error {
	var (
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &name), errors.As(err, &invalid):
	case errors.As(err, &certErr):
		err = certErr.Err
	default:
		return nil
	}
	return &TLSError{Host: c.base.Host, CAFile: c.opts.CAFile, Err: err}
}
