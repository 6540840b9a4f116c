# Written by tools/harness/build/mip_package.py (`make package`) from firmware/, boards/common/
# and the version in firmware/server.py: edit those, not this file.
# The firmware and the shared board glue as sources, for MicroPython's manifest tools;
# a board's frozen build uses boards/<board>/manifest.py (constants folded in).
metadata(version='0.2.0', description='VTC07 (IEC 62055-52) prepayment meter firmware: protocol server and STS token engine')  # noqa: F821
module('application.py', base_path='firmware')  # noqa: F821
module('catalogue.py', base_path='firmware')  # noqa: F821
module('config.py', base_path='firmware')  # noqa: F821
module('consumption.py', base_path='firmware')  # noqa: F821
module('crc.py', base_path='firmware')  # noqa: F821
module('des.py', base_path='firmware')  # noqa: F821
module('formats.py', base_path='firmware')  # noqa: F821
module('frames.py', base_path='firmware')  # noqa: F821
module('keychange.py', base_path='firmware')  # noqa: F821
module('loadswitch.py', base_path='firmware')  # noqa: F821
module('lockout.py', base_path='firmware')  # noqa: F821
module('meter.py', base_path='firmware')  # noqa: F821
module('meterapp.py', base_path='firmware')  # noqa: F821
module('misty1.py', base_path='firmware')  # noqa: F821
module('recovery.py', base_path='firmware')  # noqa: F821
module('registers.py', base_path='firmware')  # noqa: F821
module('server.py', base_path='firmware')  # noqa: F821
module('sta.py', base_path='firmware')  # noqa: F821
module('storage.py', base_path='firmware')  # noqa: F821
module('tables.py', base_path='firmware')  # noqa: F821
module('ticks.py', base_path='firmware')  # noqa: F821
module('tokens.py', base_path='firmware')  # noqa: F821
module('boardmain.py', base_path='boards/common')  # noqa: F821
module('link.py', base_path='boards/common')  # noqa: F821
module('metrology.py', base_path='boards/common')  # noqa: F821
