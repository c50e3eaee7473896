package testcluster

import "fmt"

// StopAPIServer stops the kube-apiserver, gracefully (bounded by Options.StopTimeout), and
// leaves etcd running, so the cluster's data survives for StartAPIServer. Clients then see
// connections refused, as when a real apiserver goes away.
func (c *Cluster) StopAPIServer() error {
	if err := c.env.ControlPlane.GetAPIServer().Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w%s", err, c.outputTail())
	}
	return nil
}

// StartAPIServer starts a kube-apiserver stopped by StopAPIServer again, on the same port
// with the same certificates and the same etcd, and waits until it serves: every config
// and kubeconfig of the cluster stays valid.
func (c *Cluster) StartAPIServer() error {
	if err := c.env.ControlPlane.GetAPIServer().Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w%s", err, c.outputTail())
	}
	return nil
}

// RestartAPIServer stops the kube-apiserver and starts it again; see StopAPIServer and
// StartAPIServer.
func (c *Cluster) RestartAPIServer() error {
	if err := c.StopAPIServer(); err != nil {
		return err
	}
	return c.StartAPIServer()
}
