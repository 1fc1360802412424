// Kernels of the UNet forward pass (package dsbuild/model/gpu).
//
// Every tensor is batched NCHW float32. Every parameter is 64 bits wide
// (pointers and long long) so that launchers which copy 8 bytes per
// argument, such as gorgonia.org/cu's Function.Launch, pass them intact.
// Each kernel walks its outputs with a grid-stride loop, one thread per
// output value.
//
// Built without the CUDA SDK by genptx.sh (clang -nocudainc), so the
// qualifiers and special registers are spelled out here. The tests'
// fake driver (testdata/fakecuda.cc) defines KERNEL, DEVICE and the
// __nvvm builtins for the host and includes this file, to run these very
// kernels on the CPU.

#ifndef KERNEL
#define KERNEL extern "C" __attribute__((global))
#define DEVICE static __attribute__((device)) inline
#endif

typedef long long i64;

DEVICE i64 first() {
	return (i64)__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x();
}

DEVICE i64 stride() {
	return (i64)__nvvm_read_ptx_sreg_nctaid_x() * __nvvm_read_ptx_sreg_ntid_x();
}

// conv2d: out (n × cout × size²) = conv(in (n × cin × size²), w (cout ×
// cin × k × k)) + b, padding k/2, stride 1, then ReLU when relu ≠ 0.
// Summation order, as model.(*Folded).Forward: acc = 0; for each input
// channel, kernel row, kernel column whose tap lies inside the image,
// acc += w·x with the product rounded; then acc + bias; then ReLU. The
// explicit round-to-nearest operations (mul.rn, add.rn) are never fused
// into an fma, by clang (also built with -ffp-contract=off) or by ptxas.
KERNEL void conv2d(float *out, const float *in, const float *w, const float *b,
                   i64 n, i64 cin, i64 cout, i64 size, i64 k, i64 relu) {
	const i64 plane = size * size, total = n * cout * plane, r = k / 2;
	for (i64 i = first(); i < total; i += stride()) {
		const i64 x = i % size, y = i / size % size, o = i / plane % cout, img = i / plane / cout;
		const float *src = in + img * cin * plane;
		const float *wo = w + o * cin * k * k;
		float acc = 0.0f;
		for (i64 c = 0; c < cin; c++, src += plane, wo += k * k) {
			for (i64 u = 0; u < k; u++) {
				const i64 sy = y + u - r;
				if (sy < 0 || sy >= size)
					continue;
				for (i64 v = 0; v < k; v++) {
					const i64 sx = x + v - r;
					if (sx < 0 || sx >= size)
						continue;
					acc = __nvvm_add_rn_f(acc, __nvvm_mul_rn_f(wo[u * k + v], src[sy * size + sx]));
				}
			}
		}
		float s = __nvvm_add_rn_f(acc, b[o]);
		if (relu && s < 0.0f)
			s = 0.0f;
		out[i] = s;
	}
}

// maxpool2: out (n × c × (size/2)²) = 2×2 max pooling with stride 2 of
// in (n × c × size²), as max(max(a, b), max(c, d)) over the window's rows.
KERNEL void maxpool2(float *out, const float *in, i64 n, i64 c, i64 size) {
	const i64 h = size / 2, total = n * c * h * h;
	for (i64 i = first(); i < total; i += stride()) {
		const i64 x = i % h, y = i / h % h, plane = i / (h * h);
		const float *p = in + plane * size * size + 2 * y * size + 2 * x;
		out[i] = __builtin_fmaxf(__builtin_fmaxf(p[0], p[1]), __builtin_fmaxf(p[size], p[size + 1]));
	}
}

// upsample2_into: channels [0, c) of out (n × ctot × size²) get the
// nearest ×2 upsampling of in (n × c × (size/2)²).
KERNEL void upsample2_into(float *out, const float *in, i64 n, i64 c, i64 ctot, i64 size) {
	const i64 plane = size * size, h = size / 2, total = n * c * plane;
	for (i64 i = first(); i < total; i += stride()) {
		const i64 x = i % size, y = i / size % size, ch = i / plane % c, img = i / plane / c;
		out[(img * ctot + ch) * plane + y * size + x] = in[(img * c + ch) * h * h + y / 2 * h + x / 2];
	}
}

// copy_into: channels [off, off + c) of out (n × ctot × size²) get in
// (n × c × size²).
KERNEL void copy_into(float *out, const float *in, i64 n, i64 c, i64 ctot, i64 off, i64 size) {
	const i64 plane = size * size, per = c * plane, total = n * per;
	for (i64 i = first(); i < total; i += stride()) {
		const i64 img = i / per;
		out[(img * ctot + off) * plane + i % per] = in[i];
	}
}
