// expect: of local memory per thread (arrays declared inside the kernel); a GPU allows at most 512 KiB per thread
// expect-gpu: the GPU refused to launch
// Known-wrong: thread 0 copies its row into a per-thread array of doubles "sized for a
// 131072-token vocabulary": 1 MiB of local memory per thread. A GPU refuses a kernel whose
// threads need more than 512 KiB of local memory when it loads it.

#define MAX_V (1 << 17)

extern "C" __global__ void cross_entropy(const float* logits, const int* targets, float* loss,
                                         float* lse, int rows, int V, int stride)
{
    if (threadIdx.x != 0) return;
    const float* in = logits + (size_t)blockIdx.x * stride;
    double x[MAX_V];
    for (int v = 0; v < V; v++) x[v] = in[v];
    double m = x[0];
    for (int v = 1; v < V; v++) m = fmax(m, x[v]);
    double d = 0.0;
    for (int v = 0; v < V; v++) d += exp(x[v] - m);
    float l = (float)(m + log(d));
    lse[blockIdx.x] = l;
    atomicAdd(loss, (l - in[targets[blockIdx.x]]) / rows);
}
