import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dockerCompose, systemdTools } from '../testkit/system.js';

const here = resolve(import.meta.dirname);
const compose = dockerCompose();
const systemd = systemdTools();

describe('deploy/compose.yaml', () => {
  it.skipIf(compose.skipReason)('is valid for docker-compose (no engine needed)', () => {
    const out = execFileSync('/usr/bin/docker-compose', ['-f', join(here, 'compose.yaml'), 'config'], {
      encoding: 'utf8',
    });
    const cfg = parse(out);
    // The controller waits for a healthy database, not merely a started one.
    expect(cfg.services.db.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(cfg.services.gridflex.depends_on.db.condition).toBe('service_healthy');
    // The configuration is mounted where the image's command reads it.
    expect(cfg.services.gridflex.volumes.join(' ')).toContain(':/etc/gridflex/gridflex.yaml:ro');
    // The plain HTTP port is bound to the host's loopback only (TLS goes in front).
    expect(cfg.services.gridflex.ports[0]).toMatch(/^127\.0\.0\.1:8080:8080/);
  });

  it('keeps no password in the file: the database password is a secret', () => {
    const text = readFileSync(join(here, 'compose.yaml'), 'utf8');
    const cfg = parse(text);
    expect(cfg.services.db.environment.POSTGRES_PASSWORD).toBeUndefined();
    expect(cfg.services.db.environment.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/db_password');
    expect(cfg.services.gridflex.environment.DATABASE_URL).not.toMatch(/:[^@/]+@/);
    expect(cfg.secrets.db_password.file).toBe('./secrets/db_password');
  });
});

describe('deploy/Dockerfile', () => {
  const text = readFileSync(join(here, 'Dockerfile'), 'utf8');
  it('runs the controller on the mounted configuration, not the demo', () => {
    expect(text).toMatch(/^CMD \["run", "--config", "\/etc\/gridflex\/gridflex\.yaml"/m);
    expect(text).not.toMatch(/"demo"/);
  });
  it('creates and hands over the data folder before dropping to the unprivileged user', () => {
    const chown = text.indexOf('chown node:node /var/lib/gridflex');
    const user = text.indexOf('\nUSER node');
    expect(chown).toBeGreaterThan(0);
    expect(user).toBeGreaterThan(chown);
  });
});

describe('deploy/systemd', () => {
  for (const unit of ['gridflex.service', 'gridflex-gateway.service', 'gridflex-edge.service']) {
    it.skipIf(systemd.skipReason)(`${unit} passes systemd-analyze verify without a warning`, () => {
      const r = spawnSync('/usr/bin/systemd-analyze', ['verify', join(here, 'systemd', unit)], {
        encoding: 'utf8',
      });
      expect(r.stderr.trim()).toBe('');
      expect(r.status).toBe(0);
      const text = readFileSync(join(here, 'systemd', unit), 'utf8');
      expect(text).toMatch(/^User=gridflex$/m);
      expect(text).toMatch(/^NoNewPrivileges=true$/m);
      expect(text).toMatch(/^ProtectSystem=strict$/m);
      expect(text).toMatch(/^CapabilityBoundingSet=$/m);
    });
  }

  it.skipIf(systemd.skipReason)(
    'gridflex.sysusers creates the unprivileged user (into a scratch root)',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'gfx-sysusers-'));
      mkdirSync(join(root, 'etc'));
      execFileSync(
        '/usr/bin/systemd-sysusers',
        [`--root=${root}`, join(here, 'systemd', 'gridflex.sysusers')],
        {
          stdio: 'ignore',
        },
      );
      const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
      expect(passwd).toMatch(
        /^gridflex:x:\d+:\d+:Gridflex controller:\/var\/lib\/gridflex:\/usr\/sbin\/nologin$/m,
      );
      expect(readFileSync(join(root, 'etc', 'group'), 'utf8')).toMatch(/^dialout:x:\d+:gridflex$/m);
    },
  );
});
