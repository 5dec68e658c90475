# SPDX-License-Identifier: GPL-3.0-or-later
"""A headless Chromium driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``): no driver
binary, no Python package. Enough to load a page, type into it, click it, read it and take screenshots as a user's
browser shows them.
"""
import base64
import fcntl
import io
import json
import os
import select
import subprocess
import time

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--hide-scrollbars',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', '--remote-debugging-pipe']


def _above_4(fd):
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser(object):

    def __init__(self, chromium, width=1400, height=1000):
        ours_read, chromium_write = os.pipe()
        chromium_read, self._write = os.pipe()
        # moved above fd 4, so that "3<&R 4>&W" never overwrites one end with the other (bash: dash takes one digit)
        chromium_read, chromium_write = _above_4(chromium_read), _above_4(chromium_write)
        # Chromium reads commands on fd 3 and writes answers on fd 4
        self.proc = subprocess.Popen(
            ['/bin/bash', '-c', 'exec "$0" "$@" 3<&%d 4>&%d' % (chromium_read, chromium_write), chromium] + FLAGS
            + ['about:blank'], pass_fds=(chromium_read, chromium_write),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(chromium_read)
        os.close(chromium_write)
        self._read = ours_read
        self._buffer = b''
        self._serial = 0
        self.events = []
        target = self.call('Target.createTarget', {'url': 'about:blank'})['targetId']
        self.session = self.call('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        self.page('Page.enable')
        self.resize(width, height)

    def _receive(self, timeout=120):
        while b'\0' not in self._buffer:
            if not select.select([self._read], [], [], timeout)[0]:
                raise AssertionError('chromium sent nothing for %d s' % timeout)
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError('chromium closed the pipe (rc=%s)' % self.proc.poll())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message.decode('utf-8'))

    def call(self, method, params=None, session=None):
        self._serial += 1
        message = {'id': self._serial, 'method': method, 'params': params or {}}
        if session:
            message['sessionId'] = session
        os.write(self._write, json.dumps(message).encode('utf-8') + b'\0')
        while True:
            answer = self._receive()
            if answer.get('id') == self._serial:
                if 'error' in answer:
                    raise RuntimeError('%s: %s' % (method, answer['error']))
                return answer['result']
            self.events.append(answer)

    def page(self, method, params=None):
        return self.call(method, params, session=self.session)

    def resize(self, width, height):
        self.page('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height, 'deviceScaleFactor': 1,
                                                         'mobile': False})

    def open(self, url, timeout=60):
        """Load ``url`` afresh (a new document even when only the #fragment differs) and wait for its load event."""
        if url != 'about:blank':
            self.open('about:blank', timeout)
        self.events = []
        self.page('Page.navigate', {'url': url})
        deadline = time.time() + timeout
        while not any(e.get('method') == 'Page.loadEventFired' for e in self.events):
            if time.time() > deadline:
                raise AssertionError('%s did not load in %d s' % (url, timeout))
            self.events.append(self._receive())

    def js(self, expression):
        result = self.page('Runtime.evaluate', {'expression': expression, 'returnByValue': True})
        if 'exceptionDetails' in result:
            raise AssertionError('page script failed: %s' % result['exceptionDetails'])
        return result['result'].get('value')

    def type_into(self, selector, text):
        """Focus the field and type, as a keyboard does (the page sees real input events)."""
        self.js('document.querySelector(%s).focus()' % json.dumps(selector))
        self.page('Input.insertText', {'text': text})

    def click(self, selector):
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.js('(function(){var e=document.querySelector(%s);e.scrollIntoView({block:"center"});'
                      'var r=e.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2];})()'
                      % json.dumps(selector))
        for kind in ('mousePressed', 'mouseReleased'):
            self.page('Input.dispatchMouseEvent', {'type': kind, 'x': box[0], 'y': box[1], 'button': 'left',
                                                   'clickCount': 1})

    def screenshot(self):
        """The whole page as the browser paints it (a PIL image)."""
        from PIL import Image
        height = min(int(self.js('document.documentElement.scrollHeight')), 12000)
        self.resize(1400, height)
        self.js('window.scrollTo(0, 0)')
        data = self.page('Page.captureScreenshot', {'format': 'png'})['data']
        return Image.open(io.BytesIO(base64.b64decode(data))).convert('RGB')

    def close(self):
        try:
            self.call('Browser.close')
        except (EOFError, OSError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._read)
        os.close(self._write)
