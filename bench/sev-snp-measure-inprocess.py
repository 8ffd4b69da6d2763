"""bench/sev-snp-measure-inprocess: times virtee/sev-snp-measure's own calc_launch_digest in
its Python process (no interpreter start-up), as issue 12 measured it (7-13 ms for the SNP
digest of 2 MiB firmware, 1 MiB kernel, 3 vCPUs). Times are CPU times (time.process_time):
the machine is shared, and CPU time is what the work costs whatever else runs.

usage: python3 sev-snp-measure-inprocess.py CHECKOUT OVMF KERNEL APPEND VCPUS VCPU_SIG RUNS
prints: <median ms> <digest hex>
"""
import statistics
import sys
import time

checkout, ovmf, kernel, append, vcpus, vcpu_sig, runs = sys.argv[1:8]
sys.path.insert(0, checkout)
from sevsnpmeasure import guest  # noqa: E402
from sevsnpmeasure.sev_mode import SevMode  # noqa: E402
from sevsnpmeasure.vmm_types import VMMType  # noqa: E402


def once():
    return guest.calc_launch_digest(SevMode.SEV_SNP, int(vcpus), int(vcpu_sig, 0), ovmf, kernel, None, append,
                                    0x1, '', VMMType.QEMU)


digest = once()
times = []
for _ in range(int(runs)):
    t = time.process_time()
    once()
    times.append((time.process_time() - t) * 1000)
print(f"{statistics.median(times):.2f} {digest.hex()}")
