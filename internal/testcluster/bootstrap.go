package testcluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/lsst-dm/lsstgen/internal/manifest"
	"github.com/lsst-dm/lsstgen/internal/model"
)

// Bootstrap does to a cluster what README.md tells an operator to do before and at the
// first apply of an instance: create each namespace that holds an out-of-band Secret of the
// model (`kubectl create namespace`), create those Secrets with placeholder values for
// every key the model lists (a pair tls.crt and tls.key as a kubernetes.io/tls Secret), then
// server-side apply objs, the instance's generated manifests, as the administrator of cfg
// (`kubectl apply --server-side --field-manager=lsstgen -k generated/<instance>`). It returns the objects the
// apiserver refused.
func Bootstrap(ctx context.Context, cfg *rest.Config, secrets map[string]map[string]model.OutOfBandSecret, objs []manifest.Object) ([]Rejection, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	for _, ns := range slices.Sorted(maps.Keys(secrets)) {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating Namespace/%s for its Secrets: %w", ns, err)
		}
		for _, name := range slices.Sorted(maps.Keys(secrets[ns])) {
			secret, err := placeholderSecret(ns, name, secrets[ns][name].Keys)
			if err != nil {
				return nil, err
			}
			if _, err := cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
				return nil, fmt.Errorf("creating Secret/%s/%s: %w", ns, name, err)
			}
		}
	}
	// The field manager README gives kubectl (--field-manager=lsstgen), the daemon's own:
	// under another manager the fields the apiserver defaults inside atomic ones (a
	// StatefulSet's volumeClaimTemplates, a policy's matchConstraints) stay that
	// manager's, and the daemon refuses them as conflicts.
	return Apply(ctx, cfg, objs, ApplyOptions{FieldManager: "lsstgen"})
}

// placeholderSecret is Secret namespace/name holding a placeholder value for each key; a
// Secret of exactly tls.crt and tls.key is a kubernetes.io/tls Secret holding a fresh
// self-signed certificate, as `kubectl create secret tls` would make it.
func placeholderSecret(namespace, name string, keys []string) (*corev1.Secret, error) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	for _, k := range keys {
		s.Data[k] = []byte("placeholder " + k + " of " + namespace + "/" + name)
	}
	if len(keys) == 2 && s.Data[corev1.TLSCertKey] != nil && s.Data[corev1.TLSPrivateKeyKey] != nil {
		crt, key, err := selfSigned(name + "." + namespace + ".placeholder")
		if err != nil {
			return nil, err
		}
		s.Type = corev1.SecretTypeTLS
		s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey] = crt, key
	}
	return s, nil
}

// selfSigned returns a PEM certificate for host, signed by its own key, and that key.
func selfSigned(host string) (crt, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}
