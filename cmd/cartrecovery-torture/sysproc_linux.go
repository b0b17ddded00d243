package main

import "syscall"

// childAttr makes every child die with the harness (a test timeout or a
// kill of the harness must not leave redis-server or the service running).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
