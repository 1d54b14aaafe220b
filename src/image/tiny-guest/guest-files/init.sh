#!/bin/sh
# tinyos /init (initramfs): load the drivers, then either switch_root to the root filesystem
# named by root= on the kernel command line (/dev/vda, LABEL=..., UUID=...) when it holds an
# ext4 filesystem with /sbin/init, or run the whole OS from RAM (busybox init + /etc/inittab).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Debian builds the virtio, filesystem and ACPI drivers as modules; load-order lists them
# dependencies first (worked out at build time from each module's modinfo), so plain
# insmod is enough: no depmod, no modprobe.
for m in $(cat /lib/modules/load-order); do insmod /lib/modules/$m.ko 2>/dev/null; done
ROOT=$(sed -n 's/.*root=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$ROOT" ]; then
  DEV=
  # a whole-disk image's partitions can show up a moment after the driver loads
  for i in 1 2 3 4 5 6 7 8 9 10; do
    case $ROOT in LABEL=*|UUID=*) DEV=$(findfs "$ROOT" 2>/dev/null);; *) DEV=$ROOT;; esac
    [ -b "$DEV" ] && break
    sleep 0.2
  done
  mkdir -p /newroot
  if [ -b "$DEV" ] && mount -t ext4 -o rw "$DEV" /newroot 2>/dev/null; then
    if [ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ]; then
      echo "tinyos: switch_root to $DEV" > /dev/console
      umount /proc /sys
      mount --move /dev /newroot/dev 2>/dev/null || umount /dev
      exec switch_root /newroot /sbin/init
    fi
    umount /newroot
  fi
  echo "tinyos: root=$ROOT not usable, running from initramfs" > /dev/console
fi
umount /proc /sys /dev
exec /sbin/init
