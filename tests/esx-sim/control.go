package main

// Test control, plain HTTP GET or POST on the simulator's own port (the
// answer is text; an error is HTTP 400 with the reason):
//
//	/esxsim/vm/create?name=N[&folder=a/b][&dc=DC][&host=H][&disks=MODES]
//	                 [&power=on|off][&tools=1]
//	    a fresh VM; MODES is a comma-separated list of disk modes
//	    (persistent, independent_persistent, nonpersistent, ...), each
//	    optionally prefixed "ide:" (default: one persistent SCSI disk);
//	    folder is created under the datacenter's VM folder.
//	    Answer: "MOREF INSTANCE-UUID BIOS-UUID"
//	/esxsim/vm/power?vm=MOREF&state=on|off|suspended
//	/esxsim/vm/tools?vm=MOREF&running=1|0
//	/esxsim/vm/destroy?vm=MOREF
//	/esxsim/vm/adddisk?vm=MOREF[&mode=MODE]
//	    another client adds a SCSI disk (mode persistent unless given):
//	    the VM's configuration changes, and with it config.changeVersion
//	    (config_version.go)
//	/esxsim/vm/uuid?vm=MOREF&uuid=BIOS-UUID
//	    ReconfigVM_Task setting the VM's BIOS uuid (config.uuid), as a
//	    copied VM keeps its original's
//	/esxsim/vm/consolidation?vm=MOREF&needed=1|0
//	    what runtime.consolidationNeeded reports (the simulator never
//	    needs a consolidation by itself)
//	/esxsim/fault?method=M&action=A[&match=TEXT][&polls=N][&kind=T][&message=S]
//	    arm a one-shot fault for the next request of SOAP method M (whose
//	    body contains TEXT, when given)
//	    (middleware.go): vanish (the host answers nothing more after
//	    running M), vanish-before (the same, M never runs), empty (no
//	    answer to M, like a handler panic), running (polls of M's task
//	    report "running" with progress N times first), taskerror (M is
//	    not run; its task fails with fault T and message S), paginate (M
//	    is RetrievePropertiesEx: the answer holds N objects and a token,
//	    ContinueRetrievePropertiesEx gets the rest, as vCenter pages)
//	/esxsim/sessions/expire  end every client session (as vCenter does with
//	                      idle ones): the next call gets NotAuthenticated
//	/esxsim/restore       the host is back; armed faults are dropped
//	/esxsim/requests      the SOAP requests so far, each "METHOD<TAB>BODY",
//	                      separated by a line "----" (passwords redacted);
//	                      ?clear=1 empties the log after answering; empty
//	                      when esxsim runs with -log=false

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func (st *simState) control(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var out string
	var err error
	ctx := r.Context()
	switch strings.TrimPrefix(r.URL.Path, "/esxsim/") {
	case "vm/create":
		out, err = st.createVM(ctx, q.Get("name"), q.Get("folder"), q.Get("dc"), q.Get("host"),
			q.Get("disks"), q.Get("power"), q.Get("tools") == "1")
	case "vm/power":
		err = st.power(ctx, vmRef(q.Get("vm")), q.Get("state"))
	case "vm/tools":
		if !setTools(vmRef(q.Get("vm")), q.Get("running") == "1") {
			err = fmt.Errorf("no VM %q", q.Get("vm"))
		}
	case "vm/uuid":
		err = st.setUUID(ctx, vmRef(q.Get("vm")), q.Get("uuid"))
	case "vm/consolidation":
		err = setConsolidation(vmRef(q.Get("vm")), q.Get("needed") == "1")
	case "vm/destroy":
		err = st.destroy(ctx, vmRef(q.Get("vm")))
	case "vm/adddisk":
		err = st.addDisk(ctx, vmRef(q.Get("vm")), q.Get("mode"))
	case "fault":
		polls, _ := strconv.Atoi(q.Get("polls"))
		f := &fault{method: q.Get("method"), match: q.Get("match"), action: q.Get("action"), polls: polls,
			kind: q.Get("kind"), message: q.Get("message")}
		if f.method == "" || f.action == "" {
			err = fmt.Errorf("fault needs method and action")
		} else {
			st.mu.Lock()
			st.faults = append(st.faults, f)
			st.mu.Unlock()
		}
	case "sessions/expire":
		err = st.expireSessions(ctx)
	case "restore":
		st.mu.Lock()
		st.gone = false
		st.faults = nil
		st.mu.Unlock()
	case "requests":
		st.mu.Lock()
		out = strings.Join(st.requests, "\n----\n")
		if q.Get("clear") == "1" {
			st.requests = nil
		}
		st.mu.Unlock()
	default:
		err = fmt.Errorf("unknown control path %q", r.URL.Path)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, out)
}

func vmRef(v string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtualMachine", Value: v}
}

func (st *simState) finder(ctx context.Context, dcName string) (*find.Finder, *object.Datacenter, error) {
	f := find.NewFinder(st.client, false)
	var dc *object.Datacenter
	var err error
	if dcName == "" {
		var all []*object.Datacenter
		if all, err = f.DatacenterList(ctx, "*"); err == nil && len(all) > 0 {
			dc = all[0]
		} else if err == nil {
			err = fmt.Errorf("no datacenter")
		}
	} else {
		dc, err = f.Datacenter(ctx, dcName)
	}
	if err != nil {
		return nil, nil, err
	}
	f.SetDatacenter(dc)
	return f, dc, nil
}

// folderPath finds or creates a/b/... under the datacenter's VM folder.
func folderPath(ctx context.Context, root *object.Folder, path string) (*object.Folder, error) {
	cur := root
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		children, err := cur.Children(ctx)
		if err != nil {
			return nil, err
		}
		var next *object.Folder
		for _, c := range children {
			if f, ok := c.(*object.Folder); ok {
				if n, err := f.ObjectName(ctx); err == nil && n == name {
					next = f
					break
				}
			}
		}
		if next == nil {
			if next, err = cur.CreateFolder(ctx, name); err != nil {
				return nil, err
			}
		}
		cur = next
	}
	return cur, nil
}

func diskSpecs(modes string) []types.BaseVirtualDeviceConfigSpec {
	if modes == "" {
		modes = "persistent"
	}
	specs := []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device: &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
				SharedBus: types.VirtualSCSISharingNoSharing,
				VirtualController: types.VirtualController{BusNumber: 0,
					VirtualDevice: types.VirtualDevice{Key: -100}}}}},
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device: &types.VirtualIDEController{VirtualController: types.VirtualController{
				BusNumber: 0, VirtualDevice: types.VirtualDevice{Key: -200}}}},
	}
	scsiUnit, ideUnit := int32(0), int32(0)
	for i, mode := range strings.Split(modes, ",") {
		ctrl, unit := int32(-100), &scsiUnit
		if strings.HasPrefix(mode, "ide:") {
			mode = strings.TrimPrefix(mode, "ide:")
			ctrl, unit = -200, &ideUnit
		}
		u := *unit
		*unit++
		if ctrl == -100 && *unit == 7 {
			*unit++ // unit 7 is the SCSI controller's own
		}
		specs = append(specs, &types.VirtualDeviceConfigSpec{
			Operation:     types.VirtualDeviceConfigSpecOperationAdd,
			FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate,
			Device: &types.VirtualDisk{
				VirtualDevice: types.VirtualDevice{Key: int32(-1 - i), ControllerKey: ctrl, UnitNumber: &u,
					Backing: &types.VirtualDiskFlatVer2BackingInfo{
						DiskMode:        mode,
						ThinProvisioned: types.NewBool(true),
						VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
							FileName: "[LocalDS_0]"}}},
				CapacityInKB: 1024 * int64(i+1),
			}})
	}
	return specs
}

func (st *simState) createVM(ctx context.Context, name, folder, dcName, hostName, disks, power string,
	tools bool) (string, error) {
	if name == "" {
		return "", fmt.Errorf("vm/create needs a name")
	}
	f, dc, err := st.finder(ctx, dcName)
	if err != nil {
		return "", err
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return "", err
	}
	target, err := folderPath(ctx, folders.VmFolder, folder)
	if err != nil {
		return "", err
	}
	var host *object.HostSystem
	if hostName != "" {
		host, err = f.HostSystem(ctx, hostName)
	} else {
		var hosts []*object.HostSystem
		if hosts, err = f.HostSystemList(ctx, "*"); err == nil {
			host = hosts[0]
		}
	}
	if err != nil {
		return "", err
	}
	pool, err := host.ResourcePool(ctx)
	if err != nil {
		return "", err
	}
	spec := types.VirtualMachineConfigSpec{
		Name:         name,
		GuestId:      string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
		Files:        &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		NumCPUs:      2,
		MemoryMB:     128,
		DeviceChange: diskSpecs(disks),
	}
	task, err := target.CreateVM(ctx, spec, pool, host)
	if err != nil {
		return "", err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return "", err
	}
	ref := info.Result.(types.ManagedObjectReference)
	moveConfigVersion(ref)
	if tools {
		setTools(ref, true)
	}
	if power == "on" {
		if err = st.power(ctx, ref, "on"); err != nil {
			return "", err
		}
	}
	uuid, instance, err := vmUUIDs(ctx, object.NewVirtualMachine(st.client, ref))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s %s", ref.Value, instance, uuid), nil
}

func vmUUIDs(ctx context.Context, vm *object.VirtualMachine) (string, string, error) {
	mvm := new(mo.VirtualMachine)
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.uuid", "config.instanceUuid"}, mvm); err != nil {
		return "", "", err
	}
	if mvm.Config == nil {
		return "", "", fmt.Errorf("VM %s has no config", vm.Reference().Value)
	}
	return mvm.Config.Uuid, mvm.Config.InstanceUuid, nil
}

func (st *simState) power(ctx context.Context, ref types.ManagedObjectReference, state string) error {
	vm := object.NewVirtualMachine(st.client, ref)
	var task *object.Task
	var err error
	switch state {
	case "on":
		task, err = vm.PowerOn(ctx)
	case "off":
		task, err = vm.PowerOff(ctx)
	case "suspended":
		task, err = vm.Suspend(ctx)
	default:
		return fmt.Errorf("unknown power state %q", state)
	}
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// addDisk reconfigures the VM with one more disk on its SCSI controller
// (through the in-process client, which the SOAP middleware does not
// see: the version moves here).
func (st *simState) setUUID(ctx context.Context, ref types.ManagedObjectReference, uuid string) error {
	if uuid == "" {
		return fmt.Errorf("vm/uuid needs a uuid")
	}
	task, err := object.NewVirtualMachine(st.client, ref).Reconfigure(ctx,
		types.VirtualMachineConfigSpec{Uuid: uuid})
	if err != nil {
		return err
	}
	if err = task.Wait(ctx); err != nil {
		return err
	}
	if !moveConfigVersion(ref) { // the in-process client passes no middleware
		return fmt.Errorf("no VM %q", ref.Value)
	}
	return nil
}

func (st *simState) addDisk(ctx context.Context, ref types.ManagedObjectReference, mode string) error {
	if mode == "" {
		mode = string(types.VirtualDiskModePersistent)
	}
	vm := object.NewVirtualMachine(st.client, ref)
	devices, err := vm.Device(ctx)
	if err != nil {
		return err
	}
	ctrl, err := devices.FindDiskController("scsi")
	if err != nil {
		return err
	}
	disk := devices.CreateDisk(ctrl, types.ManagedObjectReference{}, "")
	disk.CapacityInKB = 4096
	backing := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	backing.DiskMode = mode
	backing.FileName = "[LocalDS_0]"
	backing.Datastore = nil
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd,
			FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate, Device: disk}}})
	if err != nil {
		return err
	}
	if err = task.Wait(ctx); err != nil {
		return err
	}
	if !moveConfigVersion(ref) {
		return fmt.Errorf("no VM %q", ref.Value)
	}
	return nil
}

func (st *simState) destroy(ctx context.Context, ref types.ManagedObjectReference) error {
	vm := object.NewVirtualMachine(st.client, ref)
	if ps, err := vm.PowerState(ctx); err == nil && ps != types.VirtualMachinePowerStatePoweredOff {
		if err := st.power(ctx, ref, "off"); err != nil {
			return err
		}
	}
	task, err := vm.Destroy(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

func (st *simState) expireSessions(ctx context.Context) error {
	st.mu.Lock()
	var ids []string
	for id := range st.sessions {
		ids = append(ids, id)
	}
	st.sessions = map[string]bool{}
	st.mu.Unlock()
	sm := session.NewManager(st.client)
	for _, id := range ids {
		// a session already gone (logged out) answers NotFound: fine
		_ = sm.TerminateSession(ctx, []string{id})
	}
	return nil
}

func setConsolidation(ref types.ManagedObjectReference, needed bool) error {
	vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return fmt.Errorf("no VM %q", ref.Value)
	}
	simulator.Map.WithLock(vm, func() {
		vm.Runtime.ConsolidationNeeded = types.NewBool(needed)
	})
	return nil
}
