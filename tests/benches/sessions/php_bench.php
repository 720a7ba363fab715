<?php
// PHP's `files` session handler, timed for the sessionbox benchmark
// (benches/sessions/php.rs). Everything is timed with hrtime() inside this
// one process, so PHP's start-up is not in the figures.
//
// stdin: a JSON job on its first line,
// {"mode": ..., "dir": ..., "n": ..., "data": {...}, "update": {...}}:
//   ops:        draws n session ids, prints "ready", then runs the chunks
//               of creates, loads and update-saves the following lines ask
//               for (see below), printing the µs each took;
//   gc-fixture: writes n sessions, a tenth of them aged past gc_maxlifetime;
//   gc:         one session_gc() over the directory: prints {"gc": µs, "deleted": count}.
// Run with `php -n`: no php.ini, so only the settings below apply.
declare(strict_types=1);

$job = json_decode(fgets(STDIN), true, 512, JSON_THROW_ON_ERROR);

ini_set('session.save_handler', 'files');
ini_set('session.save_path', $job['dir']);
ini_set('session.serialize_handler', 'php');
// Ids come from session_id(), never from a cookie or a URL.
ini_set('session.use_cookies', '0');
ini_set('session.use_trans_sid', '0');
// Accept the ids chosen here, as the benchmark's other stores do (their
// create draws a key; an unknown id is a new session, not an attack).
ini_set('session.use_strict_mode', '0');
// No Cache-Control/Expires header work on each start.
ini_set('session.cache_limiter', '');
// Garbage collection only when timed, by session_gc().
ini_set('session.gc_probability', '0');
// Django's SESSION_COOKIE_AGE, the age sessionbox's sweep deletes at.
const MAX_LIFETIME = 1209600;
ini_set('session.gc_maxlifetime', (string) MAX_LIFETIME);

// Distinct fresh ids, drawn before the clock starts.
function ids(int $n): array
{
    $ids = [];
    for ($i = 0; $i < $n; $i++) {
        $ids[] = bin2hex(random_bytes(16));
    }
    return $ids;
}

function start(string $id, array $options = []): void
{
    session_id($id);
    if (!session_start($options)) {
        throw new RuntimeException("session_start failed for $id");
    }
}

$n = (int) $job['n'];
$out = [];
switch ($job['mode']) {
    case 'ops':
        // Driven a chunk at a time, so that the benchmark can interleave
        // this process's chunks with the other stores' (and sync before
        // each): one line per chunk on stdin, "create|load|update FROM TO"
        // over the sessions numbered FROM..TO, answered with the µs the
        // chunk took.
        $data = $job['data'];
        $update = $job['update'];
        $ids = ids($n);
        echo "ready\n";
        while (($line = fgets(STDIN)) !== false) {
            [$op, $from, $to] = explode(' ', trim($line));
            $chunk = array_slice($ids, (int) $from, (int) $to - (int) $from);
            $t = hrtime(true);
            switch ($op) {
                case 'create':
                    foreach ($chunk as $id) {
                        start($id);
                        foreach ($data as $k => $v) {
                            $_SESSION[$k] = $v;
                        }
                        session_write_close();
                    }
                    break;
                case 'load':
                    // read_and_close: read the data, release the lock and
                    // close the file at once; nothing is written back (a
                    // pure load).
                    foreach ($chunk as $id) {
                        start($id, ['read_and_close' => true]);
                        if ($_SESSION['_auth_user_id'] !== $data['_auth_user_id']) {
                            throw new RuntimeException("load of $id read the wrong data");
                        }
                    }
                    break;
                case 'update':
                    foreach ($chunk as $id) {
                        start($id);
                        foreach ($update as $k => $v) {
                            $_SESSION[$k] = $v;
                        }
                        session_write_close();
                    }
                    break;
                default:
                    throw new RuntimeException("unknown operation $op");
            }
            echo (hrtime(true) - $t) / 1e3, "\n";
        }
        exit(0);
    case 'gc-fixture':
        $old = time() - MAX_LIFETIME - 3600;
        foreach (ids($n) as $i => $id) {
            start($id);
            foreach ($job['data'] as $k => $v) {
                $_SESSION[$k] = $v;
            }
            session_write_close();
            if ($i % 10 === 0 && !touch($job['dir'] . "/sess_$id", $old)) {
                throw new RuntimeException("touch sess_$id failed");
            }
        }
        break;
    case 'gc':
        // session_gc() needs an active session; opening it creates one more
        // (fresh, so kept) file.
        start(ids(1)[0]);
        $t = hrtime(true);
        $deleted = session_gc();
        $out['gc'] = (hrtime(true) - $t) / 1e3;
        $out['deleted'] = $deleted;
        session_abort();
        break;
    default:
        throw new RuntimeException("unknown mode {$job['mode']}");
}
echo json_encode($out), "\n";
