// esxsim: VMware's vSphere simulator (govmomi's simulator library, as
// Debian ships it, without a main program) served on 127.0.0.1 for the
// esx plugin's tests and benchmarks.
//
// It prints one KEY=VALUE line per fact, then READY, and serves until
// SIGTERM or SIGINT (or until its stdin reaches end of file with -stdin,
// so that a test that dies never leaves a simulator behind):
//
//	URL=http://127.0.0.1:PORT/sdk          the vSphere Web Services endpoint
//	CTL=http://127.0.0.1:PORT/esxsim/      test control (control.go)
//	THUMBPRINT=AB:CD:...                   SHA-256 of the certificate (-tls)
//	THUMBPRINT_SHA1=AB:CD:...              SHA-1 of the certificate (-tls)
//	CA=DIR/ca.pem                          the CA that signed it (-tls)
//	LIBVIRT_URL=http://127.0.0.1:PORT2/sdk the same service through the
//	                                       proxy libvirt's ESX driver needs
//	                                       (-libvirt-fix, libvirtfix.go)
//	DATASTORE=DIR                          where the datastore files are
//
// Build (offline, GOPATH mode, from Debian's packages):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode CGO_ENABLED=0 go build -o esxsim *.go
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address (port 0: any free port)")
	vpx := flag.Bool("vpx", false, "serve a vCenter model instead of a standalone ESX host")
	vms := flag.Int("vm", 2, "model VMs per host (or per cluster/host on -vpx)")
	useTLS := flag.Bool("tls", false, "serve https with a certificate signed by a fresh CA")
	certDir := flag.String("cert-dir", "", "with -tls: write the CA certificate (ca.pem) here")
	user := flag.String("user", "root", "the only user that may log in ('' with -pass '': any)")
	pass := flag.String("pass", "secret", "that user's password")
	tools := flag.Bool("tools", false, "report VMware Tools running in the model VMs")
	autostart := flag.Bool("autostart", true, "power the model VMs on")
	libvirtFix := flag.Bool("libvirt-fix", false, "also serve through the proxy libvirt needs")
	stdin := flag.Bool("stdin", false, "exit when standard input reaches end of file")
	logRequests := flag.Bool("log", true, "keep the log of SOAP requests (control.go's "+
		"requests; a benchmark turns it off: it costs every request a copy and a regexp)")
	flag.Parse()

	m := simulator.ESX()
	if *vpx {
		m = simulator.VPX()
	}
	m.Machine = *vms
	m.Autostart = *autostart
	if err := m.Create(); err != nil {
		fail("creating the model: %v", err)
	}
	defer m.Remove()

	ctx := context.Background()
	client, err := vim25.NewClient(ctx, m.Service) // in-process, no HTTP
	if err != nil {
		fail("in-process client: %v", err)
	}
	for _, ref := range simulator.Map.All("VirtualMachine") {
		moveConfigVersion(ref.Reference()) // config_version.go
		if *tools {
			setTools(ref.Reference(), true)
		}
	}

	u := &url.URL{Host: *listen}
	if *user != "" || *pass != "" {
		u.User = url.UserPassword(*user, *pass)
	}
	m.Service.Listen = u
	var cert *certInfo
	if *useTLS {
		if cert, err = newCert(*certDir); err != nil {
			fail("certificate: %v", err)
		}
		m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert.pair}}
	}

	s := m.Service.NewServer()
	defer s.Close()
	state := newSimState(client, s.Config.Handler)
	state.logging = *logRequests
	s.Config.Handler = state

	sdk := *s.URL
	sdk.User = nil
	fmt.Printf("URL=%s\n", sdk.String())
	ctl := sdk
	ctl.Path = "/esxsim/"
	fmt.Printf("CTL=%s\n", ctl.String())
	if cert != nil {
		fmt.Printf("THUMBPRINT=%s\nTHUMBPRINT_SHA1=%s\n", cert.sha256, cert.sha1)
		if cert.caFile != "" {
			fmt.Printf("CA=%s\n", cert.caFile)
		}
	}
	if *libvirtFix {
		proxyURL, stop, err := startLibvirtProxy(&sdk, *useTLS)
		if err != nil {
			fail("libvirt proxy: %v", err)
		}
		defer stop()
		fmt.Printf("LIBVIRT_URL=%s\n", proxyURL)
	}
	if ds := datastoreDir(); ds != "" {
		fmt.Printf("DATASTORE=%s\n", ds)
	}
	fmt.Println("READY")

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	if *stdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			done <- syscall.SIGTERM
		}()
	}
	<-done
}

// setTools makes a VM report VMware Tools running (or not).  The
// simulator itself always reports them not running.
func setTools(ref types.ManagedObjectReference, running bool) bool {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	simulator.Map.WithLock(vm, func() {
		if vm.Guest == nil {
			vm.Guest = &types.GuestInfo{}
		}
		if running {
			vm.Guest.ToolsRunningStatus = string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)
			vm.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsOk
		} else {
			vm.Guest.ToolsRunningStatus = string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)
			vm.Guest.ToolsStatus = types.VirtualMachineToolsStatusToolsNotInstalled
		}
	})
	return true
}

// datastoreDir is the directory behind the first datastore.
func datastoreDir() string {
	for _, ref := range simulator.Map.All("Datastore") {
		if ds, ok := ref.(*simulator.Datastore); ok {
			return ds.Info.GetDatastoreInfo().Url
		}
	}
	return ""
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "esxsim: "+format+"\n", args...)
	os.Exit(1)
}
