"""CRC-16 with the reflected polynomial 0xA001, init 0xFFFF ("Modbus").

IEC 62055-41 uses it for the token CRC; storage uses the same one for its records.
"""


def crc16(data, start=0, end=-1, crc=0xFFFF):
    if end < 0:
        end = len(data)
    for i in range(start, end):
        crc ^= data[i]
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
