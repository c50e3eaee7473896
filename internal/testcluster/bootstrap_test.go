package testcluster

import (
	"crypto/tls"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/lsst-dm/lsstgen/internal/model"
)

// TestBootstrapSecrets: every out-of-band Secret of the model is created with every key it
// lists, a TLS pair as a kubernetes.io/tls Secret with a certificate and key that belong
// together; a Secret that cannot be created is an error naming it.
func TestBootstrapSecrets(t *testing.T) {
	c := shared.Get(t)
	ctx := t.Context()
	secrets := map[string]map[string]model.OutOfBandSecret{
		"boot-a": {
			"creds":   {Keys: []string{"password", "user"}},
			"web-tls": {Keys: []string{"tls.crt", "tls.key"}},
		},
		"boot-b": {"token": {Keys: []string{"token"}}},
	}
	if rejected, err := Bootstrap(ctx, c.Admin(), secrets, nil); err != nil || len(rejected) > 0 {
		t.Fatalf("Bootstrap = %v, %v", rejected, err)
	}
	cs := kubernetes.NewForConfigOrDie(c.Admin())
	for ns, byName := range secrets {
		for name, oob := range byName {
			s, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("Secret/%s/%s: %v", ns, name, err)
			}
			if len(s.Data) != len(oob.Keys) {
				t.Errorf("Secret/%s/%s has keys %v, want %v", ns, name, s.Data, oob.Keys)
			}
			for _, k := range oob.Keys {
				if len(s.Data[k]) == 0 {
					t.Errorf("Secret/%s/%s has no value for %s", ns, name, k)
				}
			}
		}
	}
	web, err := cs.CoreV1().Secrets("boot-a").Get(ctx, "web-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if web.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret/boot-a/web-tls is of type %s, want %s", web.Type, corev1.SecretTypeTLS)
	}
	if _, err := tls.X509KeyPair(web.Data["tls.crt"], web.Data["tls.key"]); err != nil {
		t.Errorf("Secret/boot-a/web-tls does not hold a usable key pair: %v", err)
	}

	// Again: the Secrets exist, and Bootstrap does not overwrite what an operator made.
	_, err = Bootstrap(ctx, c.Admin(), map[string]map[string]model.OutOfBandSecret{"boot-b": secrets["boot-b"]}, nil)
	if err == nil || !strings.Contains(err.Error(), "creating Secret/boot-b/token") || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Bootstrap over an existing Secret = %v, want an error naming it", err)
	}
	_, err = Bootstrap(ctx, c.Admin(), map[string]map[string]model.OutOfBandSecret{"Not_A_Name": secrets["boot-b"]}, nil)
	if err == nil || !strings.Contains(err.Error(), "creating Namespace/Not_A_Name for its Secrets") {
		t.Errorf("Bootstrap into a namespace that cannot be made = %v, want an error naming it", err)
	}
}
