//go:build tools

// Package tools pins the programs that build.sh compiles: the real kube-apiserver
// (from the k8s.io/kubernetes module) and etcd (through ./cmd/etcd). Nothing of
// theirs is vendored or committed; only this module's go.mod and go.sum are.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
