/**
 * Starts the peer (./main.ts) the way the bench starts Gatehouse: its own process (NODE_ENV=production), its own
 * private redis-server on a free port, the run's shared signing keys, user and clients, and Gatehouse's lifetimes
 * and argon2id parameters from Gatehouse's loaded config.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/types.ts';
import { discover } from '../lib/oauth.ts';
import { freePort, startNode, waitForHttp } from '../lib/processes.ts';
import { startRedis } from '../lib/redis.ts';
import { type Identity, serviceClientMetadata, type Target, USER_CLAIMS, webClientMetadata } from '../lib/stack.ts';
import type { PeerSetup } from './main.ts';

export async function startPeer(identity: Identity, config: Config): Promise<Target> {
  const redis = await startRedis();
  try {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const rs = config.resourceServers.find((r) => r.default) ?? config.resourceServers[0];
    if (!rs) throw new Error('config has no resource server');
    const setup: PeerSetup = {
      issuer,
      port,
      redisUrl: redis.url,
      jwks: JSON.parse(identity.jwks) as PeerSetup['jwks'],
      cookieKeys: [identity.cookieKey],
      clients: [webClientMetadata(identity), serviceClientMetadata(identity)] as PeerSetup['clients'],
      account: {
        id: 'bench-account',
        username: identity.user.username,
        password: identity.user.password,
        claims: { ...USER_CLAIMS, email_verified: false, preferred_username: identity.user.username },
        roles: ['user'],
      },
      resourceServer: {
        identifier: rs.identifier,
        scopes: [...rs.scopes],
        accessTokenAlg: config.signing.accessTokenAlg,
      },
      ttl: { ...config.ttl },
      argon2: { ...config.argon2 },
    };
    // BENCH_CPU_PROF=1: a V8 CPU profile of the peer too, written when it stops.
    const nodeArgs = process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'gatehouse-bench-profile-peer', 'peer')}`]
      : [];
    const child = startNode(
      'peer',
      'bench/peer/main.ts',
      { PATH: process.env.PATH, NODE_ENV: 'production', PEER_SETUP: JSON.stringify(setup) },
      nodeArgs,
    );
    const stop = async () => {
      await child.stop();
      await redis.stop();
    };
    try {
      await waitForHttp(child, `${issuer}/.well-known/openid-configuration`);
      return {
        name: 'peer',
        server: child,
        redis,
        endpoints: await discover(issuer),
        web: identity.web,
        service: identity.service,
        user: identity.user,
        keyPrefix: '',
        settings: { NODE_ENV: 'production', ISSUER: issuer, REDIS_URL: redis.url },
        stop,
      };
    } catch (err) {
      await child.stop();
      throw err;
    }
  } catch (err) {
    await redis.stop();
    throw err;
  }
}
