import { ActiveStatus, CharmBase, WaitingStatus, type Framework, type PebbleReadyEvent, type SecretChangedEvent } from '@juju-ts/ops';
import { Context, on } from './index.js';

const META = `
name: web
containers: { web: { resource: web-image } }
config: { options: { port: { type: int, default: 8080 } } }
`;

class WebCharm extends CharmBase {
  constructor(fw: Framework) {
    super(fw);
    this.observe(this.on.container('web').pebbleReady, this.onReady);
    this.observe(this.on.configChanged, this.onReady);
  }
  async onReady(e: PebbleReadyEvent | unknown) {
    const web = (e as Partial<PebbleReadyEvent>).workload ?? this.unit.getContainer('web');
    if (!(await web.canConnect())) {
      await this.unit.setStatus(new WaitingStatus('waiting for Pebble in the web container'));
      return;
    }
    const port = (await this.model.config()).get('port');
    await web.addLayer(
      'web',
      { summary: 'web', services: { web: { override: 'replace', command: `/bin/server --port ${port}`, startup: 'enabled', environment: { PORT: String(port) } } } },
      { combine: true },
    );
    await web.replan();
    await web.push('/etc/web/port', String(port), { makeDirs: true });
    const motd = (await web.exists('/etc/motd')) ? await web.pull('/etc/motd') : '';
    await this.unit.setStatus(new ActiveStatus(`serving on ${port}${motd ? `: ${motd}` : ''}`));
  }
}

const ctx = new Context(WebCharm, { meta: META });

test('a charm adds a layer and replans through a real Pebble emulator; the output State shows plan, services and files', async () => {
  const out = await ctx.run(on.pebbleReady('web'), { config: { port: 9000 }, containers: [{ name: 'web', canConnect: true, files: { '/etc/motd': 'hi' } }] });
  expect(out.unitStatus).toEqual({ name: 'active', message: 'serving on 9000: hi' });
  const web = out.containers[0]!;
  expect(web.layers.web).toEqual({ summary: 'web', services: { web: { override: 'replace', command: '/bin/server --port 9000', startup: 'enabled', environment: { PORT: '9000' } } } });
  expect((web.plan as { services: Record<string, { command: string }> }).services.web!.command).toBe('/bin/server --port 9000');
  expect(web.serviceStatuses).toEqual({ web: 'active' });
  expect(web.files).toEqual({ '/etc/motd': 'hi', '/etc/web/port': '9000' });
});

test('a container whose Pebble is not up cannot be connected to', async () => {
  const out = await ctx.run(on.configChanged(), { containers: [{ name: 'web', canConnect: false }] });
  expect(out.unitStatus).toEqual({ name: 'waiting', message: 'waiting for Pebble in the web container' });
  expect(out.containers[0]!.layers).toEqual({});
});

test('layers in the input State are the starting plan; a changed layer restarts the service on replan', async () => {
  const first = await ctx.run(on.pebbleReady('web'), { containers: [{ name: 'web', canConnect: true }] });
  const second = await ctx.run(on.configChanged(), { ...first, config: { port: 7000 } });
  expect((second.containers[0]!.plan as { services: Record<string, { environment: Record<string, string> }> }).services.web!.environment).toEqual({ PORT: '7000' });
  expect(second.containers[0]!.serviceStatuses).toEqual({ web: 'active' });
});

test('scenarios Juju could not produce are refused up front', async () => {
  await expect(ctx.run(on.pebbleReady('web'), { containers: [{ name: 'other', canConnect: true }], config: { nope: 1 } })).rejects.toThrow(
    /container "other" is not declared by the charm[\s\S]*config option "nope" is not declared by the charm/,
  );
  await expect(ctx.run(on.relationChanged({ id: 9, endpoint: 'db', remoteAppName: 'x' }), {})).rejects.toThrow(/event db-relation-changed is for relation 9, which is not in the state/);
});

test('a secret hook always has JUJU_SECRET_LABEL, empty when the secret has none, and the charm sees no label then', async () => {
  expect(on.secretChanged({ id: 'secret:abc', label: undefined }).env.JUJU_SECRET_LABEL).toBe('');
  expect(on.secretChanged({ id: 'secret:abc', label: 'db-password' }).env.JUJU_SECRET_LABEL).toBe('db-password');
  class SecretCharm extends CharmBase {
    constructor(fw: Framework) {
      super(fw);
      this.observe(this.on.secretChanged, this.onSecretChanged);
    }
    async onSecretChanged(e: SecretChangedEvent) {
      await this.unit.setStatus(new ActiveStatus(`label: ${e.secret.label ?? '(none)'}`));
    }
  }
  const secretCtx = new Context(SecretCharm, { meta: 'name: s' });
  const secret = { id: 'secret:0123456789abcdefghij', owner: null, revisions: [{ revision: 1, content: { k: 'v' } }] };
  expect((await secretCtx.run(on.secretChanged({ id: secret.id }), { secrets: [secret] })).unitStatus.message).toBe('label: (none)');
  expect((await secretCtx.run(on.secretChanged({ id: secret.id, label: 'db' }), { secrets: [{ ...secret, label: 'db' }] })).unitStatus.message).toBe('label: db');
});

test('the consistency checks shared with the simulator: config types, and events for what the charm does not declare', async () => {
  await expect(ctx.run(on.configChanged(), { config: { port: '8080' } })).rejects.toThrow(/config option "port" is of type int, but its value is "8080"/);
  await expect(ctx.run(on.configChanged(), { config: { port: 80.5 } })).rejects.toThrow(/config option "port" is of type int, but its value is 80.5/);
  await expect(ctx.run(on.pebbleReady('wbe'), {})).rejects.toThrow(/the charm declares no container "wbe" \(did you mean web\?\); declared: web/);
  await expect(ctx.run(on.pebbleReady('web'), {})).rejects.toThrow(/event web-pebble-ready is for container "web", which is not in the state/);
  const owned = { id: 'secret:0123456789abcdefghij', owner: 'app' as const, revisions: [{ revision: 1, content: { k: 'v' } }] };
  await expect(ctx.run(on.secretChanged(owned), { secrets: [owned] })).rejects.toThrow(/secret-changed goes to the secret's consumers, but this unit owns/);
  await expect(ctx.run(on.secretRotate({ ...owned, owner: null } as never), { secrets: [{ ...owned, owner: null }] })).rejects.toThrow(/secret-rotate goes to the secret's owner/);
});
