#include "pkt_meta.hpp"

#include <rte_errno.h>

namespace vtap {

int g_pkt_meta_offset = -1;

Result<int> register_pkt_meta() {
    static const rte_mbuf_dynfield desc = {
        "vtap_pkt_meta", sizeof(PktMeta), alignof(PktMeta), 0,
    };
    int off = rte_mbuf_dynfield_register(&desc);
    if (off < 0)
        return fail("mbuf dynfield vtap_pkt_meta",
                    std::string("cannot register: ") + rte_strerror(rte_errno));
    g_pkt_meta_offset = off;
    return off;
}

}  // namespace vtap
