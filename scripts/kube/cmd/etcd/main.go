// Command etcd is etcd's own server main (go.etcd.io/etcd/server/v3/etcdmain), built
// from this module so that its version is the one pinned in ../../go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
