package setup

import (
	"crypto/tls"
	"os"
	"sync"
	"time"
)

// keyPair serves the certificate of --tls-cert and --tls-key and reads the
// files again when either changes (looked at once a second at most, on a
// handshake), so a renewed certificate is served without a restart. A
// pair that cannot be loaded (half written, mismatched) keeps the last
// good one in force until the files change again.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(name string) fileStamp {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.Size(), fi.ModTime()}
}

func loadKeyPair(certFile, keyFile string) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	kp.stamp = [2]fileStamp{stampOf(certFile), stampOf(keyFile)}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	kp.cert, kp.checked = &cert, time.Now()
	return kp, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (kp *keyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if time.Since(kp.checked) < time.Second {
		return kp.cert, nil
	}
	kp.checked = time.Now()
	stamp := [2]fileStamp{stampOf(kp.certFile), stampOf(kp.keyFile)}
	if stamp == kp.stamp {
		return kp.cert, nil
	}
	if cert, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile); err == nil {
		kp.cert, kp.stamp = &cert, stamp
	}
	return kp.cert, nil
}
