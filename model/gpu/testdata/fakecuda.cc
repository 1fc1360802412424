// A fake libcuda.so.1 for the tests: the driver entry points the purego
// binding uses, with memory in host RAM and kernels.cu itself compiled
// for the host and run one thread at a time. Build flags choose a failure:
// -DFAKE_INIT_RESULT=100 makes cuInit fail, -DFAKE_DEVICES=0 shows no
// device. fake_live() counts what is allocated or retained, for leak checks.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAKE_INIT_RESULT
#define FAKE_INIT_RESULT 0
#endif
#ifndef FAKE_DEVICES
#define FAKE_DEVICES 1
#endif

// The kernels are static: each fake library built by a test runs its own,
// with its own emulated thread registers.
static unsigned emu_tid, emu_ctaid, emu_ntid, emu_nctaid;
#define KERNEL static
#define DEVICE static inline
#define __nvvm_read_ptx_sreg_tid_x() emu_tid
#define __nvvm_read_ptx_sreg_ctaid_x() emu_ctaid
#define __nvvm_read_ptx_sreg_ntid_x() emu_ntid
#define __nvvm_read_ptx_sreg_nctaid_x() emu_nctaid
#define __nvvm_add_rn_f(a, b) ((float)(a) + (float)(b))
#define __nvvm_mul_rn_f(a, b) ((float)(a) * (float)(b))
#include "../kernels.cu"

typedef int CUresult;
static int live;
static const char *names[] = {"conv2d", "maxpool2", "upsample2_into", "copy_into"};

extern "C" {
CUresult cuInit(unsigned flags) { return flags ? 1 : FAKE_INIT_RESULT; }
CUresult cuDeviceGetCount(int *n) { *n = FAKE_DEVICES; return 0; }
CUresult cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return ordinal < FAKE_DEVICES ? 0 : 101; }
CUresult cuDeviceGetName(char *name, int len, int dev) {
	strncpy(name, "Fake CUDA device", len);
	return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { *ctx = &live; live++; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { live--; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &live ? 0 : 201; }
CUresult cuModuleLoadData(void **mod, const void *image) {
	if (strstr((const char *)image, ".entry conv2d(") == NULL)
		return 218; // CUDA_ERROR_INVALID_PTX
	*mod = names;
	live++;
	return 0;
}
CUresult cuModuleUnload(void *mod) { live--; return mod == names ? 0 : 400; }
CUresult cuModuleGetFunction(void **fn, void *mod, const char *name) {
	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0) {
			*fn = &names[i];
			return 0;
		}
	return 500; // CUDA_ERROR_NOT_FOUND
}
CUresult cuMemAlloc_v2(uint64_t *ptr, size_t size) {
	*ptr = (uint64_t)malloc(size);
	live++;
	return *ptr ? 0 : 2;
}
CUresult cuMemFree_v2(uint64_t ptr) { free((void *)ptr); live--; return 0; }
CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) { memcpy((void *)dst, src, n); return 0; }
CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) { memcpy(dst, (const void *)src, n); return 0; }
CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void *stream, void **params, void **extra) {
	if (gy != 1 || gz != 1 || by != 1 || bz != 1 || shared || stream || extra || gx == 0 || bx == 0 || bx > 1024)
		return 1; // CUDA_ERROR_INVALID_VALUE
	uint64_t a[10];
	int k = (const char **)fn - names, nargs[] = {10, 5, 6, 7};
	for (int i = 0; i < nargs[k]; i++)
		a[i] = *(uint64_t *)params[i];
	float *o = (float *)a[0];
	const float *in = (const float *)a[1];
	emu_nctaid = gx, emu_ntid = bx;
	for (emu_ctaid = 0; emu_ctaid < gx; emu_ctaid++)
		for (emu_tid = 0; emu_tid < bx; emu_tid++)
			switch (k) {
			case 0: conv2d(o, in, (const float *)a[2], (const float *)a[3], a[4], a[5], a[6], a[7], a[8], a[9]); break;
			case 1: maxpool2(o, in, a[2], a[3], a[4]); break;
			case 2: upsample2_into(o, in, a[2], a[3], a[4], a[5]); break;
			case 3: copy_into(o, in, a[2], a[3], a[4], a[5], a[6]); break;
			}
	return 0;
}
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuGetErrorString(CUresult r, const char **msg) {
	switch (r) {
	case 100: *msg = "no CUDA-capable device is detected"; return 0;
	case 218: *msg = "a PTX JIT compilation failed"; return 0;
	default: *msg = "fake driver error"; return 0;
	}
}
int fake_live(void) { return live; }
}
