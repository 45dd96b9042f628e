#!/usr/bin/env python3
"""trace-edit.py: change a recorded trace (docs/trace-format.md) to ask
"what if the backend had answered differently?", then replay it with
`xpvsim replay` to see where the frontend's behaviour departs.

  trace-edit.py set SRC DST KIND N AT FMT VALUE
      the Nth (from 0) response entry on a ring of KIND (1 vscsiif,
      2 usbif-urb, 3 usbif-conn): its bytes at offset AT of the entry,
      packed as the struct format FMT ('<i', '<H', '<B', ...), set to
      VALUE (entry layouts: Xen's io/vscsiif.h and io/usbif.h)
  trace-edit.py flip SRC DST KIND N AT
      the same entry, the low bit of its byte at AT flipped
  trace-edit.py cut SRC DST
      the file cut in the middle of its middle record (a broken trace)

Prints the changed record's number (from 0) and the old value (for cut:
the record cut and its byte offset). Records are walked by their pcap
headers; nothing else of the file changes.
"""
import struct, sys

def records(data):
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from('<I', data, off + 8)[0]
        yield off, data[off + 16:off + 16 + caplen]
        off += 16 + caplen

def main():
    cmd, src, dst = sys.argv[1:4]
    data = bytearray(open(src, 'rb').read())
    if cmd == 'cut':  # cut SRC DST: in the middle of the middle record
        recs = list(records(data))
        off, rec = recs[len(recs) // 2]
        open(dst, 'wb').write(data[:off + 16 + len(rec) // 2])
        print(len(recs) // 2, off)
        return
    # set SRC DST KIND N AT FMT VALUE: the Nth response entry of ring
    # KIND, its bytes at AT packed as FMT (struct) set to VALUE;
    # flip SRC DST KIND N AT: the low bit of its byte at AT flipped
    if cmd == 'flip':
        kind, nth, at = sys.argv[4:7]
        fmt, value = '<B', None
    else:
        kind, nth, at, fmt, value = sys.argv[4:9]
    seen = 0
    for index, (off, rec) in enumerate(records(data)):
        hdr_len = struct.unpack_from('<H', rec, 6)[0]
        payload = off + 16 + hdr_len
        if rec[5] != 3 or rec[hdr_len + 2] != int(kind) or rec[hdr_len + 3] != 1:
            continue
        if seen == int(nth):
            where = payload + 20 + int(at)
            old = struct.unpack_from(fmt, data, where)[0]
            value = old ^ 1 if value is None else int(value)
            if old == value:
                sys.exit('the change changes nothing')
            struct.pack_into(fmt, data, where, value)
            open(dst, 'wb').write(data)
            print(index, old)
            return
        seen += 1
    sys.exit('no such entry')

main()
