package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With the path hidden (SECURITY.md 96), the error no longer says which of
// the two files is missing: an operator with a valid certificate and a
// mistyped key path reads "the certificate or key file".
func TestServerTLSErrorSaysWhichFile(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(cert, []byte("not read"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Config{TLSCert: cert, TLSKey: filepath.Join(dir, "missing-key.pem")}.ServerTLS()
	if err == nil || !strings.Contains(err.Error(), "key file") || strings.Contains(err.Error(), "certificate or key") {
		t.Errorf("ServerTLS with a missing key file: %v (want it to name the key file, not its path)", err)
	}
}
