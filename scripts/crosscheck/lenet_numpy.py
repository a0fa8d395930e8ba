#!/usr/bin/python3
"""Independent NumPy re-implementation of the aihwkit example-04 LeNet (Fashion-MNIST)
with SingleRPUConfig(device=ConstantStepDevice()) defaults, written from SPEC.md and the
aihwkit sources (no rpu code read).

Network: AnalogConv2d(1,16,5) - Tanh - MaxPool2 - AnalogConv2d(16,32,5) - Tanh - MaxPool2 -
Tanh - Flatten(512) - AnalogLinear(512,128) - Tanh - AnalogLinear(128,10) - LogSoftmax,
NLL (mean), batch 8, SGD lr 0.01, digital biases, torch-style uniform init.

Analog tile (per sample row = one patch for convs):
  forward : NM ABS_MAX, BM ITERATIVE (r = 1,2,4,8,16; r=16 always accepted since
            16 > 0.25*63), DAC rint step 1/63 clip +-1, y = W u, out_noise 0.06 N(0,1),
            ADC rint step 24/510, bound test y>12 / y<-12 after discretisation, clip +-12,
            rescale by alpha*r. Noise also at test time.
  backward: same with W^T, no BM.
  update  : per sample: UBLM + UM (BL = min(ceil(k),31), k = lr*xmax*dmax/dw_min,
            A = B = sqrt(lr/(dw_min*BL)), d_v reduced by 31/k if k>31, A*=sqrt(x_v/d_v),
            B*=sqrt(d_v/x_v)); p_x = B|x|, p_d = A|d|; per slot one uniform per line;
            coincidence (i,j) in a slot -> one pulse with sigma = sign(d_i) sign(x_j)
            (sigma>0: down).  ConstantStep device with d2d parameters (bounds, gain, up/down
            asym.) and c2c noise 0.3 per pulse; weights clipped to the per-element bounds.

APPROXIMATIONS (and why they cannot matter much):
  1. Pulse bookkeeping: coincidences are counted with GEMMs over the slot axis (exact
     Bernoulli bits per line and slot, exactly as STOCHASTIC_COMPRESSED), but the c pulses
     an element receives are not applied one by one.  Within ONE sample all c pulses on
     element (i,j) have the same direction sign(d_i)sign(x_j), and a sum of c i.i.d.
     N(step, (0.3 step)^2) steps is exactly N(c step, c (0.3 step)^2), so we draw one
     Gaussian per element and sample.  Clipping after the whole same-direction run equals
     clipping after every pulse, except when an individual noisy step is negative
     (1+0.3 xi < 0, p = 4e-4) while at a bound -- negligible.
  2. Across the samples of one mini-batch row block (e.g. the ~4600 patches of conv1) the
     increments are summed and applied once (exact in distribution: sum of Gaussians) for
     every element whose path provably cannot reach a bound (w + sum of up steps + 4 sigma
     < b_max and w - sum of down steps - 4 sigma > b_min).  Elements that might touch a
     bound get the exact sample-by-sample clipped walk in the original sample order
     (clamped_walk: exact composition of clip(w + a, l, h) maps).  The residual error is a
     >4-sigma excursion of a summed Gaussian near a bound, which is then still clipped at
     the end of the block.
  3. RNG: numpy PCG64 streams, float32 uniforms in [0,1) (aihwkit CPU: rand()/RAND_MAX, may
     be exactly 1.0; Gaussians from a 32768-entry table). Statistical equivalence only.
  4. The order in which samples are applied within a mini-batch is the patch order
     (image-major, then output position row-major) -- only matters for approximation 2.
  5. conv1's backward (gradient w.r.t. the image) is not computed (not needed; in aihwkit
     it only consumes random numbers).
  6. float32 arithmetic throughout (as aihwkit), float64 for the loss.
"""
import argparse
import gzip
import struct
import sys
import time

import numpy as np

F32 = np.float32
DATA = '/usr/share/datasets/fashion-mnist/'


def load_idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    magic = struct.unpack('>I', raw[:4])[0]
    ndim = magic & 0xff
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# ----------------------------------------------------------------------------------------
# tiles
# ----------------------------------------------------------------------------------------
class FPTile:
    def __init__(self, out_size, in_size, W, rng):
        self.W = W.astype(F32).copy()

    def forward(self, X):
        return X @ self.W.T

    def backward(self, D):
        return D @ self.W

    def update(self, X, D, lr):
        self.W -= F32(lr) * (D.T @ X)


class AnalogTile:
    # IOParameters defaults
    INP_RES = F32(F32(1.0 / 126.0) * F32(2.0))       # 1/63
    OUT_RES = F32(F32(1.0 / 510.0) * F32(24.0))      # 24/510
    OUT_BOUND = F32(12.0)
    OUT_NOISE = F32(0.06)
    BM_MAX_R = 0.25 / float(INP_RES)                  # 15.75
    # UpdateParameters / ConstantStep defaults
    DESIRED_BL = 31
    DW_MIN = 0.001
    DW_MIN_STD = 0.3

    def __init__(self, out_size, in_size, W, rng):
        self.rng = rng
        self.m, self.n = out_size, in_size
        # device-to-device sampling (SPEC 4.2), defaults of PulsedDevice
        shape = (out_size, in_size)
        g = lambda: rng.standard_normal(shape)
        # draws per element in SPEC order; vectorised (order across elements irrelevant)
        b_max = 0.6 * (1 + 0.3 * g())
        b_min = -0.6 * (1 + 0.3 * g())
        gain = 1 + 0.3 * g()
        r = 0.01 * g()
        d_up = np.abs((gain + r) * self.DW_MIN)
        d_dn = np.abs((gain - r) * self.DW_MIN)
        swap = b_min > b_max
        b_max, b_min = np.where(swap, b_min, b_max), np.where(swap, b_max, b_min)
        self.b_max = np.abs(b_max).astype(F32)
        self.b_min = (-np.abs(b_min)).astype(F32)
        self.d_up = d_up.astype(F32)
        self.d_dn = d_dn.astype(F32)
        self.W = np.clip(W.astype(F32), self.b_min, self.b_max)
        self.stats = dict(upd_rows=0, slots=0, flagged=0, seq_rows=0, bm_rounds=0)

    # ---------------- forward / backward -------------------------------------------------
    def _mvm(self, U, transposed):
        Y = (U @ self.W) if transposed else (U @ self.W.T)
        Y += self.OUT_NOISE * self.rng.standard_normal(Y.shape, dtype=F32)
        Y = np.rint(Y / self.OUT_RES) * self.OUT_RES
        return Y

    def _dac(self, X, scale):
        U = X * scale[:, None]
        U = np.rint(U / self.INP_RES) * self.INP_RES
        np.clip(U, -1.0, 1.0, out=U)
        return U

    def forward(self, X):
        S = X.shape[0]
        amax = np.abs(X).max(1)
        Y = np.zeros((S, self.m), F32)
        idx = np.nonzero(amax > 0)[0]
        red = 1.0
        while idx.size:
            self.stats['bm_rounds'] += 1
            scale = (F32(1.0) / amax[idx]) / F32(red)
            Yr = self._mvm(self._dac(X[idx], scale), False)
            fail = (Yr > self.OUT_BOUND).any(1) | (Yr < -self.OUT_BOUND).any(1)
            np.clip(Yr, -self.OUT_BOUND, self.OUT_BOUND, out=Yr)
            if red > self.BM_MAX_R:       # (r > max_bm_res / inp_res) -> accepted
                fail[:] = False
            ok = ~fail
            Y[idx[ok]] = Yr[ok] / scale[ok, None]
            idx = idx[fail]
            red *= 2.0
        return Y

    def backward(self, D):
        S = D.shape[0]
        amax = np.abs(D).max(1)
        Z = np.zeros((S, self.n), F32)
        idx = np.nonzero(amax > 0)[0]
        if idx.size:
            scale = F32(1.0) / amax[idx]
            Zr = self._mvm(self._dac(D[idx], scale), True)
            np.clip(Zr, -self.OUT_BOUND, self.OUT_BOUND, out=Zr)
            Z[idx] = Zr * amax[idx, None]
        return Z

    # ---------------- pulsed update --------------------------------------------------------
    def update(self, X, D, lr):
        rng = self.rng
        g = F32(self.DW_MIN)
        lr = F32(lr)
        xa = np.abs(X)
        da = np.abs(D)
        xmax = xa.max(1)
        dmax = da.max(1)
        v = np.nonzero((xmax > 0) & (dmax > 0))[0]
        if v.size == 0:
            return
        X, D, xa, da, xmax, dmax = X[v], D[v], xa[v], da[v], xmax[v], dmax[v]
        k = lr * xmax * dmax / g
        BL = np.minimum(np.ceil(k), self.DESIRED_BL).astype(np.int64)
        BLf = BL.astype(F32)
        A0 = np.sqrt(lr / (g * BLf))
        dv = np.where(k > self.DESIRED_BL, dmax * F32(self.DESIRED_BL) / k, dmax)
        A = A0 * np.sqrt(xmax / dv)
        B = A0 * np.sqrt(dv / xmax)
        px = B[:, None] * xa               # x lines use B
        pd = A[:, None] * da               # d lines use A
        Sv = v.size
        rep = np.repeat(np.arange(Sv), BL)
        T = rep.size
        self.stats['upd_rows'] += Sv
        self.stats['slots'] += T
        xb = (rng.random((T, self.n), dtype=F32) < px[rep]).astype(F32)
        db = (rng.random((T, self.m), dtype=F32) < pd[rep]).astype(F32)
        sx = np.sign(X)
        sd = np.sign(D)
        tot = db.T @ xb                                    # all coincidences
        net = (db * sd[rep]).T @ (xb * sx[rep])            # (#down - #up)
        n_dn = 0.5 * (tot + net)
        n_up = 0.5 * (tot - net)
        np.maximum(n_dn, 0, out=n_dn)
        np.maximum(n_up, 0, out=n_up)
        n_dn = np.rint(n_dn)
        n_up = np.rint(n_up)
        W = self.W
        c2c = F32(self.DW_MIN_STD)
        hi = W + self.d_up * (n_up + 4 * c2c * np.sqrt(n_up))
        lo = W - self.d_dn * (n_dn + 4 * c2c * np.sqrt(n_dn))
        flag = (hi >= self.b_max) | (lo <= self.b_min)
        flag &= (tot > 0)
        mean = n_up * self.d_up - n_dn * self.d_dn
        std = c2c * np.sqrt(n_up * self.d_up ** 2 + n_dn * self.d_dn ** 2)
        Wn = W + mean + std * rng.standard_normal(W.shape, dtype=F32)
        np.clip(Wn, self.b_min, self.b_max, out=Wn)
        if flag.any():
            fi, fj = np.nonzero(flag)
            self.stats['flagged'] += fi.size
            starts = np.concatenate([[0], np.cumsum(BL)[:-1]])
            c = np.add.reduceat(db[:, fi] * xb[:, fj], starts, axis=0)   # (Sv, F)
            sig = sd[:, fi] * sx[:, fj]
            step = np.where(sig > 0, -self.d_dn[fi, fj][None, :], self.d_up[fi, fj][None, :])
            inc = c * step
            nstd = c2c * np.abs(step) * np.sqrt(c)
            rows = np.nonzero(c.any(1))[0]
            self.stats['seq_rows'] += rows.size
            w = W[fi, fj].copy()
            bmn = self.b_min[fi, fj]
            bmx = self.b_max[fi, fj]
            noise = rng.standard_normal((rows.size, fi.size), dtype=F32)
            steps = inc[rows] + nstd[rows] * noise          # per-sample increments, in order
            Wn[fi, fj] = clamped_walk(w, steps, bmn, bmx)
        self.W = Wn


def clamped_walk(w, steps, lo, hi):
    """Final value of w_{s+1} = clip(w_s + steps[s], lo, hi) for s = 0..S-1 (per column),
    computed exactly by a log-depth tree composition: every step is a map
    f(w) = clip(w + a, l, h); f2(f1(w)) = clip(w + a1 + a2, clip(l1 + a2, l2, h2),
    clip(h1 + a2, l2, h2))."""
    S, Fn = steps.shape
    if S == 0:
        return w
    n2 = 1 << int(np.ceil(np.log2(S))) if S > 1 else 1
    a = np.zeros((n2, Fn), np.float64)
    a[:S] = steps
    l = np.full((n2, Fn), -np.inf)
    h = np.full((n2, Fn), np.inf)
    l[:S] = lo
    h[:S] = hi
    while a.shape[0] > 1:
        a1, a2 = a[0::2], a[1::2]
        l1, l2 = l[0::2], l[1::2]
        h1, h2 = h[0::2], h[1::2]
        l = np.minimum(np.maximum(l1 + a2, l2), h2)
        h = np.minimum(np.maximum(h1 + a2, l2), h2)
        a = a1 + a2
    return np.minimum(np.maximum(w + a[0], l[0]), h[0]).astype(F32)


# ----------------------------------------------------------------------------------------
# network
# ----------------------------------------------------------------------------------------
def im2col(x, k):
    """x (N,C,H,W) -> (N*Ho*Wo, C*k*k), column order (c, ki, kj) as torch unfold."""
    N, C, H, Wd = x.shape
    v = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N,C,Ho,Wo,k,k
    Ho, Wo = v.shape[2], v.shape[3]
    return np.ascontiguousarray(v.transpose(0, 2, 3, 1, 4, 5)).reshape(N * Ho * Wo, C * k * k)


def col2im(G, N, C, H, Wd, k):
    Ho, Wo = H - k + 1, Wd - k + 1
    G = G.reshape(N, Ho, Wo, C, k, k).transpose(0, 3, 1, 2, 4, 5)  # N,C,Ho,Wo,k,k
    out = np.zeros((N, C, H, Wd), F32)
    for a in range(k):
        for b in range(k):
            out[:, :, a:a + Ho, b:b + Wo] += G[:, :, :, :, a, b]
    return out


def maxpool2(y):
    N, C, H, Wd = y.shape
    r = y.reshape(N, C, H // 2, 2, Wd // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        N, C, H // 2, Wd // 2, 4)
    am = r.argmax(-1)          # first max (torch CPU keeps the first maximum)
    out = np.take_along_axis(r, am[..., None], -1)[..., 0]
    return out, am


def maxpool2_back(g, am, shape):
    N, C, H, Wd = shape
    z = np.zeros((N, C, H // 2, Wd // 2, 4), F32)
    np.put_along_axis(z, am[..., None], g[..., None], -1)
    return z.reshape(N, C, H // 2, Wd // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, Wd)


class LeNet:
    def __init__(self, rng, analog, analog_bias=False):
        T = AnalogTile if analog else FPTile
        self.ab = analog_bias

        def init(out, fan_in):
            bnd = 1.0 / np.sqrt(fan_in)
            W = rng.uniform(-bnd, bnd, (out, fan_in)).astype(F32)
            b = rng.uniform(-bnd, bnd, out).astype(F32)
            return W, b
        W1, self.b1 = init(16, 25)
        W2, self.b2 = init(32, 400)
        W3, self.b3 = init(128, 512)
        W4, self.b4 = init(10, 128)
        if analog_bias:
            # what-if: bias stored as last tile column (input gets a constant 1 appended)
            cat = lambda W, b: np.concatenate([W, b[:, None]], 1)
            W1, W2, W3, W4 = cat(W1, self.b1), cat(W2, self.b2), cat(W3, self.b3), cat(W4, self.b4)
            self.b1, self.b2, self.b3, self.b4 = [np.zeros_like(b) for b in
                                                  (self.b1, self.b2, self.b3, self.b4)]
        self.t1 = T(16, W1.shape[1], W1, rng)
        self.t2 = T(32, W2.shape[1], W2, rng)
        self.t3 = T(128, W3.shape[1], W3, rng)
        self.t4 = T(10, W4.shape[1], W4, rng)
        self.tiles = [self.t1, self.t2, self.t3, self.t4]

    def _aug(self, X):
        if not self.ab:
            return X
        return np.concatenate([X, np.ones((X.shape[0], 1), X.dtype)], 1)

    def _bwd(self, t, D):
        Z = t.backward(D)
        return Z[:, :-1] if self.ab else Z

    def forward(self, x, keep=False):
        N = x.shape[0]
        P1 = im2col(x, 5)                                            # N*576, 25
        y1 = self.t1.forward(self._aug(P1)) + self.b1
        y1 = y1.reshape(N, 24, 24, 16).transpose(0, 3, 1, 2)
        a1 = np.tanh(y1)
        p1, am1 = maxpool2(a1)                                       # N,16,12,12
        P2 = im2col(p1, 5)                                           # N*64, 400
        y2 = self.t2.forward(self._aug(P2)) + self.b2
        y2 = y2.reshape(N, 8, 8, 32).transpose(0, 3, 1, 2)
        a2 = np.tanh(y2)
        p2, am2 = maxpool2(a2)                                       # N,32,4,4
        a3 = np.tanh(p2)
        f = np.ascontiguousarray(a3.reshape(N, 512))
        y3 = self.t3.forward(self._aug(f)) + self.b3
        a4 = np.tanh(y3)
        y4 = self.t4.forward(self._aug(a4)) + self.b4
        if keep:
            self.cache = (P1, a1, am1, p1, P2, a2, am2, a3, f, a4)
        return y4

    def train_step(self, x, labels, lr):
        N = x.shape[0]
        logits = self.forward(x, keep=True)
        P1, a1, am1, p1, P2, a2, am2, a3, f, a4 = self.cache
        z = logits.astype(np.float64)
        z = z - z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1))
        logp = z - lse[:, None]
        loss = -logp[np.arange(N), labels].mean()
        g4 = np.exp(logp)
        g4[np.arange(N), labels] -= 1.0
        g4 = (g4 / N).astype(F32)                                    # dL/dy4
        # backward (all with the old weights)
        ga4 = self._bwd(self.t4, g4)
        g3 = ga4 * (1 - a4 * a4)                                     # dL/dy3
        gf = self._bwd(self.t3, g3)
        ga3 = gf.reshape(N, 32, 4, 4)
        gp2 = ga3 * (1 - a3 * a3)
        ga2 = maxpool2_back(gp2, am2, a2.shape)
        gy2 = ga2 * (1 - a2 * a2)                                    # N,32,8,8
        D2 = np.ascontiguousarray(gy2.transpose(0, 2, 3, 1)).reshape(N * 64, 32)
        gP2 = self._bwd(self.t2, D2)
        gp1 = col2im(gP2, N, 16, 12, 12, 5)
        ga1 = maxpool2_back(gp1, am1, a1.shape)
        gy1 = ga1 * (1 - a1 * a1)
        D1 = np.ascontiguousarray(gy1.transpose(0, 2, 3, 1)).reshape(N * 576, 16)
        # optimizer step: digital biases + analog tiles
        lr32 = F32(0.0 if self.ab else lr)
        self.b4 -= lr32 * g4.sum(0)
        self.b3 -= lr32 * g3.sum(0)
        self.b2 -= lr32 * D2.sum(0)
        self.b1 -= lr32 * D1.sum(0)
        self.t4.update(self._aug(a4), g4, lr)
        self.t3.update(self._aug(f), g3, lr)
        self.t2.update(self._aug(P2), D2, lr)
        self.t1.update(self._aug(P1), D1, lr)
        return loss

    def evaluate(self, X, Y, bs=500):
        correct = 0
        for s in range(0, X.shape[0], bs):
            out = self.forward(X[s:s + bs])
            correct += int((out.argmax(1) == Y[s:s + bs]).sum())
        return correct / X.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fp', action='store_true')
    ap.add_argument('--ntrain', type=int, default=60000, help='first N train images')
    ap.add_argument('--ntest', type=int, default=10000, help='first N test images')
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--analog-bias', action='store_true',
                    help='what-if (NOT the default config): bias in the last tile column')
    ap.add_argument('--lr', type=float, default=0.01)
    ap.add_argument('--bs', type=int, default=8)
    ap.add_argument('--report', type=int, default=1000, help='progress every N batches')
    ap.add_argument('--max-seconds', type=float, default=0,
                    help='stop training inside an epoch after this many seconds (0=off)')
    a = ap.parse_args()

    Xtr = load_idx(DATA + 'train-images-idx3-ubyte.gz')[:a.ntrain]
    Ytr = load_idx(DATA + 'train-labels-idx1-ubyte.gz')[:a.ntrain].astype(np.int64)
    Xte = load_idx(DATA + 't10k-images-idx3-ubyte.gz')[:a.ntest]
    Yte = load_idx(DATA + 't10k-labels-idx1-ubyte.gz')[:a.ntest].astype(np.int64)
    Xtr = (Xtr.astype(F32) / F32(255.0))[:, None]
    Xte = (Xte.astype(F32) / F32(255.0))[:, None]

    rng = np.random.default_rng(a.seed)
    net = LeNet(rng, analog=not a.fp, analog_bias=a.analog_bias)
    print('analog_bias=%s' % a.analog_bias)
    print('mode=%s ntrain=%d ntest=%d epochs=%d seed=%d lr=%g bs=%d' % (
        'FP' if a.fp else 'analog', a.ntrain, a.ntest, a.epochs, a.seed, a.lr, a.bs), flush=True)
    shuffle_rng = np.random.default_rng(a.seed + 1000)
    t_start = time.time()
    for ep in range(a.epochs):
        t0 = time.time()
        perm = shuffle_rng.permutation(a.ntrain)
        nb = a.ntrain // a.bs + (a.ntrain % a.bs > 0)
        run = 0.0
        cnt = 0
        for b in range(nb):
            idx = perm[b * a.bs:(b + 1) * a.bs]
            run += net.train_step(Xtr[idx], Ytr[idx], a.lr)
            cnt += 1
            if (b + 1) % a.report == 0:
                el = time.time() - t0
                print('  ep %d batch %d/%d loss %.4f  %.1fs (%.2f s/1000 img)' % (
                    ep + 1, b + 1, nb, run / cnt, el, el / ((b + 1) * a.bs) * 1000), flush=True)
                if not a.fp:
                    print('    stats', [t.stats for t in net.tiles], flush=True)
                run = 0.0
                cnt = 0
            if a.max_seconds and time.time() - t_start > a.max_seconds:
                print('  time limit hit after %d batches (%d images) of epoch %d' % (
                    b + 1, (b + 1) * a.bs, ep + 1), flush=True)
                break
        t_train = time.time() - t0
        t1 = time.time()
        acc = net.evaluate(Xte, Yte)
        t_eval = time.time() - t1
        print('EPOCH %d test_acc %.4f  train %.1fs (%.3f s/1000 img)  eval %.1fs' % (
            ep + 1, acc, t_train, t_train / a.ntrain * 1000, t_eval), flush=True)
        if not a.fp:
            for i, t in enumerate(net.tiles):
                w = t.W
                print('    tile%d |W| mean %.4f max %.4f  at-bound %.4f%%' % (
                    i + 1, np.abs(w).mean(), np.abs(w).max(),
                    100 * np.mean((w >= t.b_max) | (w <= t.b_min))), flush=True)
        if a.max_seconds and time.time() - t_start > a.max_seconds:
            break


if __name__ == '__main__':
    main()
