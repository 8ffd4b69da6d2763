"""bench/sev-snp-measure-inprocess: virtee/sev-snp-measure's own calc_launch_digest (or
calc_snp_ovmf_hash) timed inside its Python process (no interpreter start-up), as issue 12
measured it (7-13 ms for the SNP digest of 2 MiB firmware, 1 MiB kernel, 3 vCPUs). Times are
CPU times (time.process_time): the machine is shared, and CPU time is what the work costs
whatever else runs.

The process computes the digest once and prints it, then computes it again for every line it
reads on stdin and prints that call's CPU milliseconds, so bench/measure.ts can time one call per
round, alternating with its own calls (same load, same cache state for both sides).

usage: python3 sev-snp-measure-inprocess.py CHECKOUT OVMF KERNEL APPEND VCPUS VCPU_SIG
       python3 sev-snp-measure-inprocess.py CHECKOUT --ovmf-hash OVMF
e.g.:  yes '' | head -5 | python3 sev-snp-measure-inprocess.py ...   (digest, then 5 times)
"""
import sys
import time

checkout = sys.argv[1]
sys.path.insert(0, checkout)
from sevsnpmeasure import guest  # noqa: E402
from sevsnpmeasure.sev_mode import SevMode  # noqa: E402
from sevsnpmeasure.vmm_types import VMMType  # noqa: E402

if sys.argv[2] == '--ovmf-hash':
    ovmf = sys.argv[3]

    def once():
        return guest.calc_snp_ovmf_hash(ovmf)
else:
    ovmf, kernel, append, vcpus, vcpu_sig = sys.argv[2:7]

    def once():
        return guest.calc_launch_digest(SevMode.SEV_SNP, int(vcpus), int(vcpu_sig, 0), ovmf, kernel, None, append,
                                        0x1, '', VMMType.QEMU)


print(once().hex(), flush=True)
for _ in sys.stdin:
    t = time.process_time()
    once()
    print(f"{(time.process_time() - t) * 1000:.3f}", flush=True)
