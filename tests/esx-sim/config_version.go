package main

// config.changeVersion, as vSphere keeps it: a VM's configuration
// version moves with every change of the configuration, so a client that
// holds a VM's device list knows it is still right while the version is
// the same (the esx plugin's task polls rely on that: plugins/esx/vm.c).
// The simulator leaves the version empty and never restores hardware on
// a revert; esxsim keeps a version for the VMs it makes (and the model's)
// and moves it where the configuration changes: a reconfigure
// (ReconfigVM_Task from a client, vm/adddisk from a test) and a revert to
// a snapshot whose hardware is not the VM's, which restores it as vSphere
// does.  Snapshot tasks change no configuration in the simulator (it
// makes no delta disks), so they leave the version where it is.

import (
	"strconv"
	"sync/atomic"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

var configVersions int64

// newConfigVersion gives vm a version no VM had before; the caller holds
// vm's lock (simulator.Map.WithLock).
func newConfigVersion(vm *simulator.VirtualMachine) {
	vm.Config.ChangeVersion = strconv.FormatInt(atomic.AddInt64(&configVersions, 1), 10)
}

// moveConfigVersion gives the VM ref names a new version.
func moveConfigVersion(ref types.ManagedObjectReference) bool {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return false
	}
	simulator.Map.WithLock(vm, func() { newConfigVersion(vm) })
	return true
}

// sameHardware: a snapshot keeps a shallow copy of the configuration it
// was taken with (simulator's CreateSnapshotTask), so hardware nobody
// reconfigured since holds the very same device objects.
func sameHardware(a, b *types.VirtualHardware) bool {
	if a.NumCPU != b.NumCPU || a.MemoryMB != b.MemoryMB || len(a.Device) != len(b.Device) {
		return false
	}
	for i := range a.Device {
		if a.Device[i] != b.Device[i] {
			return false
		}
	}
	return true
}

// restoreHardware is what a revert to snapshot ref does to the VM's
// hardware besides what the simulator does: the snapshot's comes back,
// and the version moves when that is a change.
func restoreHardware(ref types.ManagedObjectReference) {
	snap, ok := simulator.Map.Get(ref).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return // the revert itself reports the unknown snapshot
	}
	vm, ok := simulator.Map.Get(snap.Vm).(*simulator.VirtualMachine)
	if !ok || vm.Config == nil {
		return
	}
	simulator.Map.WithLock(vm, func() {
		if sameHardware(&vm.Config.Hardware, &snap.Config.Hardware) {
			return
		}
		hw := snap.Config.Hardware
		hw.Device = append([]types.BaseVirtualDevice(nil), hw.Device...)
		vm.Config.Hardware = hw
		newConfigVersion(vm)
	})
}
